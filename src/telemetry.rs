//! Logging: a tracing subscriber with an `RUST_LOG`-style filter and text or JSON output, written to stderr
//! in batches by a background thread (plain text lines by a subscriber of our own). Nothing here ever sees a bearer token, key or evidence byte; callers do not log them.

use crate::config::LogFormat;
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tracing::level_filters::LevelFilter;
use tracing::span::Id;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

/// How often the writer thread takes what has gathered (a line waits at most this long).
const EVERY: Duration = Duration::from_millis(50);
/// Past this many bytes waiting, a caller writes the batch out itself: nothing is dropped, and memory stays
/// bounded if stderr stops taking lines.
const MAX_PENDING: usize = 4 * 1024 * 1024;

/// Lines gather in one buffer; a thread writes them to stderr every `EVERY`. A request pays for one short
/// lock and a copy, never a system call or a wake-up of another thread (a queue to a writer thread woke it
/// for each line, and on two busy cores that cost more than formatting the line).
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    /// Where batches go (stderr), one at a time, so that they never interleave.
    out: Mutex<Box<dyn Write + Send>>,
    /// Past this many bytes waiting, the caller writes the batch out.
    limit: usize,
    /// Set when the program ends: the thread writes what is left and stops.
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Default for Batched {
    fn default() -> Self {
        Batched::to(Box::new(std::io::stderr()), MAX_PENDING)
    }
}

impl Shared {
    /// Swap what has gathered for `spare` (an empty buffer that keeps its capacity, so that the next batch
    /// does not grow a new one from nothing).
    fn take(&self, spare: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()), spare)
    }

    fn write_out(&self, batch: &[u8]) {
        if batch.is_empty() {
            return;
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // Nowhere left to report a failure to write the log.
        let _ = out.write_all(batch);
        let _ = out.flush();
    }
}

impl Shared {
    /// Add a line to the batch; past the limit, write the batch out here.
    fn append(&self, buf: &[u8]) {
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend_from_slice(buf);
            (pending.len() >= self.limit).then(|| std::mem::take(&mut *pending))
        };
        if let Some(batch) = full {
            self.write_out(&batch);
        }
    }
}

impl Write for Batched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.shared.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one line is written through: the batch, borrowed (no reference count is touched per line).
pub struct LineWriter<'a>(&'a Shared);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> fmt::MakeWriter<'a> for Batched {
    type Writer = LineWriter<'a>;
    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter(&self.shared)
    }
}

impl Batched {
    fn to(out: Box<dyn Write + Send>, limit: usize) -> Batched {
        Batched {
            shared: Arc::new(Shared {
                pending: Mutex::default(),
                out: Mutex::new(out),
                limit,
                stop: Mutex::new(false),
                wake: Condvar::new(),
            }),
        }
    }

    /// Start the writer thread.
    fn start(&self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let shared = self.shared.clone();
        std::thread::Builder::new().name("ecolabel-log".into()).spawn(move || {
            let mut spare = Vec::new();
            loop {
                let stopping = {
                    let stop = shared.stop.lock().unwrap_or_else(|p| p.into_inner());
                    let (stop, _) = shared.wake.wait_timeout(stop, EVERY).unwrap_or_else(|p| p.into_inner());
                    *stop
                };
                let mut batch = shared.take(spare);
                shared.write_out(&batch);
                batch.clear();
                spare = batch;
                if stopping {
                    return;
                }
            }
        })
    }

    /// Write out everything gathered and stop the thread.
    fn finish(&self, thread: std::thread::JoinHandle<()>) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        let _ = thread.join();
        let batch = self.shared.take(Vec::new());
        self.shared.write_out(&batch);
    }
}

/// The writer and its thread, kept until `flush` (the end of `main`) so that the last lines are written.
static WRITER: Mutex<Option<(Batched, std::thread::JoinHandle<()>)>> = Mutex::new(None);

/// The filter from `RUST_LOG` (default `info`): a plain list of `target=level` directives is a `Targets`
/// filter, decided once per call site; only a list that needs more (span or field directives) is an
/// `EnvFilter`, which looks every span up under a lock each time it is entered, left and closed — on every
/// poll of every request.
fn filters() -> (Option<Targets>, Option<EnvFilter>) {
    let spec = std::env::var("RUST_LOG").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "info".into());
    filters_for(&spec)
}

fn filters_for(spec: &str) -> (Option<Targets>, Option<EnvFilter>) {
    // Read as `EnvFilter` reads a list: each directive trimmed, empty ones left out (`Targets` would take
    // `info,` as `info,error` and ` ecolabel=debug` as a target with a space).
    let directives: Vec<&str> = spec.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    if directives.is_empty() {
        return filters_for("info");
    }
    let list = directives.join(",");
    // Span and field directives (`[request{path=/register}]`, `ecolabel[{user}]`): `Targets` would read the
    // first as a target's name and ignore the second.
    let plain = !directives.iter().any(|d| d.contains(['[', '{']));
    match list.parse::<Targets>() {
        Ok(targets) if plain => (Some(targets), None),
        _ => (None, Some(EnvFilter::try_new(&list).unwrap_or_else(|_| EnvFilter::new("info")))),
    }
}

type Filtered = Layered<Option<EnvFilter>, Layered<Option<Targets>, Registry>>;

fn install<L: Layer<Filtered> + Send + Sync>(targets: Option<Targets>, env: Option<EnvFilter>, layer: L) -> bool {
    tracing_subscriber::registry().with(targets).with(env).with(layer).try_init().is_ok()
}

/// Install the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let writer = Batched::default();
    // Colours only for a terminal: escape codes cost formatting time on every line and clutter a file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = fmt::layer().with_writer(writer.clone()).with_target(false).with_ansi(ansi);
    let (targets, env) = filters();
    let installed = match (format, targets) {
        (LogFormat::Json, targets) => install(targets, env, layer.json().flatten_event(true).with_current_span(true).with_span_list(false)),
        // A terminal gets tracing's own coloured lines.
        (LogFormat::Text, targets) if ansi => install(targets, env, layer),
        // A file or a pipe gets the same lines, written plainly by our own subscriber: the request's span and
        // its line are most of what logging costs a request (docs/operations.md, "Logging").
        (LogFormat::Text, Some(targets)) => {
            let max = PlainText::max_level(&targets);
            let installed = tracing::subscriber::set_global_default(PlainText::new(targets, writer.clone())).is_ok();
            if installed {
                // Lines of crates that log through `log` come through too, filtered the same way.
                use tracing_log::AsLog as _;
                let _ = tracing_log::LogTracer::builder().with_max_level(max.as_log()).init();
            }
            installed
        }
        // Span and field directives (`EnvFilter`) go through tracing's own formatter, without colours.
        (LogFormat::Text, None) => install(None, env, layer.fmt_fields(PlainFields)),
    };
    if installed {
        match writer.start() {
            Ok(thread) => {
                if let Ok(mut w) = WRITER.lock() {
                    *w = Some((writer, thread));
                }
            }
            // Without the thread, lines gather until MAX_PENDING and are then written by the caller.
            Err(e) => eprintln!("the log writer thread could not start: {e}"),
        }
    }
}

/// Plain text lines, as tracing's `Full` format writes them without colours
/// (`2026-12-02T17:00:00.123456Z  INFO request{request_id=… method=GET path=/}: request status=200 us=35`),
/// by a subscriber of our own. tracing's registry and formatter keep each span's fields in a map of
/// extensions and wrap every field in a colour style even with colours off; here a span is a slot of a
/// lock-free pool (`sharded-slab`, as the registry itself uses) holding its name, parent, reference count and
/// fields already written as text, entering it is a push on this thread's stack, and a line is written into
/// this thread's buffer and copied into the batch at once.
pub(crate) struct PlainText {
    filter: Targets,
    max: LevelFilter,
    spans: sharded_slab::Pool<Slot>,
    out: Batched,
}

/// One open span.
#[derive(Default)]
struct Slot {
    meta: Option<&'static tracing::Metadata<'static>>,
    parent: Option<u64>,
    /// Handles to the span (and children naming it as their parent); the slot is cleared at zero.
    refs: AtomicUsize,
    /// Its fields as they appear in a line (`request_id=… method=GET`).
    fields: Mutex<String>,
}

impl sharded_slab::Clear for Slot {
    fn clear(&mut self) {
        self.meta = None;
        self.parent = None;
        *self.refs.get_mut() = 0;
        self.fields.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

thread_local! {
    /// The spans this thread is in, innermost last (as `Id`s).
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// Where this thread writes a line before it is copied into the batch.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Span ids are the pool's keys plus one (an id is never zero).
fn span_id(key: usize) -> Id {
    Id::from_u64(key as u64 + 1)
}

fn slot_key(id: u64) -> usize {
    id.wrapping_sub(1) as usize
}

/// The innermost span this thread is in.
fn current() -> Option<u64> {
    STACK.try_with(|s| s.borrow().last().copied()).ok().flatten()
}

impl PlainText {
    pub(crate) fn new(filter: Targets, out: Batched) -> PlainText {
        PlainText {
            max: PlainText::max_level(&filter),
            filter,
            spans: sharded_slab::Pool::new(),
            out,
        }
    }

    /// The most verbose level any directive enables.
    fn max_level(filter: &Targets) -> LevelFilter {
        filter
            .iter()
            .map(|(_, level)| level)
            .chain(filter.default_level())
            .max()
            .unwrap_or(LevelFilter::OFF)
    }

    /// Write the span `id` and its ancestors, outermost first, as `name{fields}:` each.
    fn write_scope(&self, id: u64, line: &mut String, depth: usize) {
        let Some(slot) = self.spans.get(slot_key(id)) else {
            return;
        };
        if let Some(parent) = slot.parent.filter(|_| depth < 32) {
            self.write_scope(parent, line, depth + 1);
        }
        let Some(meta) = slot.meta else {
            return;
        };
        line.push_str(meta.name());
        let fields = slot.fields.lock().unwrap_or_else(|p| p.into_inner());
        if !fields.is_empty() {
            line.push('{');
            line.push_str(&fields);
            line.push('}');
        }
        line.push(':');
    }

    fn write_event(&self, event: &tracing::Event<'_>, line: &mut String) {
        line.clear();
        write_now(line);
        line.push_str(match *event.metadata().level() {
            tracing::Level::ERROR => " ERROR ",
            tracing::Level::WARN => "  WARN ",
            tracing::Level::INFO => "  INFO ",
            tracing::Level::DEBUG => " DEBUG ",
            tracing::Level::TRACE => " TRACE ",
        });
        let scope = match event.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if event.is_contextual() => current(),
            None => None,
        };
        if let Some(scope) = scope {
            self.write_scope(scope, line, 0);
            line.push(' ');
        }
        event.record(&mut TextFields::new(line, true));
        line.push('\n');
        self.out.shared.append(line.as_bytes());
    }
}

impl tracing::Subscriber for PlainText {
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        if self.enabled(meta) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> Id {
        let parent = match attrs.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attrs.is_contextual() => current(),
            None => None,
        };
        let key = self.spans.create_with(|slot| {
            slot.meta = Some(attrs.metadata());
            slot.parent = parent;
            *slot.refs.get_mut() = 1;
            let fields = slot.fields.get_mut().unwrap_or_else(|p| p.into_inner());
            attrs.record(&mut TextFields::new(fields, true));
        });
        match key {
            Some(key) => {
                // A child keeps its parent open (its line names it).
                if let Some(parent) = parent {
                    self.clone_span(&Id::from_u64(parent));
                }
                span_id(key)
            }
            // The pool is full (millions of open spans): this span is not written, its events still are.
            None => Id::from_u64(u64::MAX),
        }
    }

    fn record(&self, span: &Id, values: &tracing::span::Record<'_>) {
        if let Some(slot) = self.spans.get(slot_key(span.into_u64())) {
            // Written apart first, so that no lock is held while a value is formatted (a `Debug` that logs
            // inside this span would otherwise wait for itself).
            let mut more = String::new();
            values.record(&mut TextFields::new(&mut more, true));
            let mut fields = slot.fields.lock().unwrap_or_else(|p| p.into_inner());
            if !fields.is_empty() && !more.is_empty() {
                fields.push(' ');
            }
            fields.push_str(&more);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let written = LINE.try_with(|line| match line.try_borrow_mut() {
            Ok(mut line) => self.write_event(event, &mut line),
            // A value being formatted logs itself: that line gets a buffer of its own.
            Err(_) => self.write_event(event, &mut String::new()),
        });
        if written.is_err() {
            // The thread is ending and its buffer is gone.
            self.write_event(event, &mut String::new());
        }
    }

    fn enter(&self, span: &Id) {
        let _ = STACK.try_with(|s| s.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        let id = span.into_u64();
        let _ = STACK.try_with(|s| {
            let mut stack = s.borrow_mut();
            if stack.last() == Some(&id) {
                stack.pop();
            } else if let Some(at) = stack.iter().rposition(|&s| s == id) {
                stack.remove(at);
            }
        });
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(slot) = self.spans.get(slot_key(span.into_u64())) {
            slot.refs.fetch_add(1, Ordering::Relaxed);
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let key = slot_key(span.into_u64());
        let parent = {
            let Some(slot) = self.spans.get(key) else {
                return false;
            };
            if slot.refs.fetch_sub(1, Ordering::Release) != 1 {
                return false;
            }
            std::sync::atomic::fence(Ordering::Acquire);
            slot.parent
        };
        self.spans.clear(key);
        if let Some(parent) = parent {
            self.try_close(Id::from_u64(parent));
        }
        true
    }

    fn current_span(&self) -> tracing_core::span::Current {
        let meta = current().and_then(|id| Some((id, self.spans.get(slot_key(id))?.meta?)));
        match meta {
            Some((id, meta)) => tracing_core::span::Current::new(Id::from_u64(id), meta),
            None => tracing_core::span::Current::none(),
        }
    }
}

/// Fields written into a line as `name=value` (strings as they are, integers as digits, other values as
/// `Debug` writes them), the message bare, and the `log.*` fields of `log` records left out.
struct TextFields<'a> {
    out: &'a mut String,
    /// No field written yet (no separator before the next).
    first: bool,
}

impl<'a> TextFields<'a> {
    /// Fields appended to `out`; `first`: nothing to separate them from.
    fn new(out: &'a mut String, first: bool) -> TextFields<'a> {
        TextFields { out, first }
    }

    /// The field's name (and the separator), or `None` for a field not written.
    fn name(&mut self, field: &tracing::field::Field) -> Option<&mut String> {
        let name = field.name();
        if name.starts_with("log.") {
            return None;
        }
        if !std::mem::take(&mut self.first) {
            self.out.push(' ');
        }
        if name != "message" {
            self.out.push_str(name);
            self.out.push('=');
        }
        Some(self.out)
    }
}

impl tracing::field::Visit for TextFields<'_> {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if let Some(out) = self.name(field) {
            out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if let Some(out) = self.name(field) {
            out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        if let Some(out) = self.name(field) {
            out.push_str(if value { "true" } else { "false" });
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if let Some(out) = self.name(field) {
            out.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if let Some(out) = self.name(field) {
            use std::fmt::Write as _;
            let _ = write!(out, "{value:?}");
        }
    }
}

/// Fields as `TextFields` writes them, for tracing's own formatter (a `RUST_LOG` with span or field
/// directives).
struct PlainFields;

impl<'w> fmt::FormatFields<'w> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(&self, mut writer: fmt::format::Writer<'w>, fields: R) -> std::fmt::Result {
        let mut buf = String::new();
        fields.record(&mut TextFields::new(&mut buf, true));
        writer.write_str(&buf)
    }
}

/// The time now as RFC 3339 in UTC with microseconds; the part to the second is kept per thread and made
/// again only when the second changes.
fn write_now(line: &mut String) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let cached = SECOND.try_with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            *cached = (secs, rfc3339_second(secs));
        }
        line.push_str(&cached.1);
    });
    if cached.is_err() {
        line.push_str(&rfc3339_second(secs));
    }
    // Six digits of microseconds, written as characters (no formatting machinery on every line).
    let mut digits = *b".000000Z";
    let mut micros = now.subsec_micros();
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + u8::try_from(micros % 10).unwrap_or(0);
        micros /= 10;
    }
    line.push_str(std::str::from_utf8(&digits).unwrap_or(".000000Z"));
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the epoch (UTC; days to a civil date by Howard Hinnant's
/// algorithm).
fn rfc3339_second(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Write out every gathered line and stop the writer (at the end of `main`).
pub fn flush() {
    let taken = WRITER.lock().ok().and_then(|mut w| w.take());
    if let Some((writer, thread)) = taken {
        writer.finish(thread);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a server does with its log: a request's span with a field recorded later, a line inside it, one
    /// naming it as its parent from outside, a nested span, a line outside any span, and a debug line.
    fn requests() {
        let span = tracing::info_span!("request", request_id = "abc-1", method = %"GET", path = "/V/…", user_id = tracing::field::Empty);
        span.record("user_id", 7);
        span.in_scope(|| tracing::info!(status = 200u16, us = 35u64, ok = true, note = "a b", "request"));
        tracing::info!(parent: &span, status = 201u16, "named parent");
        span.in_scope(|| {
            let inner = tracing::info_span!("issue", number = "GEL-2026-000001");
            inner.in_scope(|| tracing::error!(code = -3i64, ratio = 0.5f64, "failed"));
        });
        tracing::debug!("not at info");
        tracing::warn!(refused = -3i64, "outside any span");
    }

    /// Each line with its time cut off (27 characters), checking that it is a time.
    fn without_times(out: &[u8]) -> Vec<String> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .map(|line| {
                let (time, rest) = line.split_at(27);
                assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.', "{line}");
                rest.to_string()
            })
            .collect()
    }

    #[test]
    fn plain_lines_read_like_tracings_own() {
        let ours = Sink::default();
        let subscriber = PlainText::new("info".parse().unwrap(), Batched::to(Box::new(ours.clone()), 1));
        tracing::subscriber::with_default(subscriber, requests);
        let theirs = Sink::default();
        let subscriber = tracing_subscriber::registry().with(LevelFilter::INFO).with(
            fmt::layer()
                .with_writer(Batched::to(Box::new(theirs.clone()), 1))
                .with_ansi(false)
                .with_target(false)
                .fmt_fields(PlainFields),
        );
        tracing::subscriber::with_default(subscriber, requests);
        let ours = without_times(&ours.0.lock().unwrap());
        assert_eq!(
            ours,
            [
                "  INFO request{request_id=abc-1 method=GET path=/V/… user_id=7}: request status=200 us=35 ok=true note=a b",
                "  INFO request{request_id=abc-1 method=GET path=/V/… user_id=7}: named parent status=201",
                " ERROR request{request_id=abc-1 method=GET path=/V/… user_id=7}:issue{number=GEL-2026-000001}: failed code=-3 ratio=0.5",
                "  WARN outside any span refused=-3",
            ]
        );
        assert_eq!(ours, without_times(&theirs.0.lock().unwrap()), "tracing's own formatter writes the same lines");
    }

    #[test]
    fn spans_close_with_their_last_handle_and_a_child_keeps_its_parent() {
        let subscriber = Arc::new(PlainText::new("info".parse().unwrap(), Batched::to(Box::new(Sink::default()), 1)));
        let open = |span: &Option<Id>| subscriber.spans.get(slot_key(span.as_ref().unwrap().into_u64())).is_some();
        tracing::subscriber::with_default(subscriber.clone(), || {
            let parent = tracing::info_span!("request", request_id = "a");
            let handle = parent.clone();
            let child = parent.in_scope(|| tracing::info_span!("issue"));
            let (parent_id, child_id) = (parent.id(), child.id());
            assert!(open(&parent_id) && open(&child_id));
            assert_eq!(tracing::Span::current().id(), None);
            child.in_scope(|| assert_eq!(tracing::Span::current().id(), child_id));
            drop(parent);
            drop(handle);
            assert!(open(&parent_id), "the child's lines still name its parent");
            drop(child);
            assert!(!open(&parent_id) && !open(&child_id));
            let ids: Vec<_> = (0..1000)
                .map(|_| {
                    let span = tracing::info_span!("request", request_id = "b");
                    span.in_scope(|| tracing::info!("request"));
                    span.id()
                })
                .collect();
            assert!(ids.iter().all(|id| !open(id)), "every request's span closed with it");
            // A span entered on another thread is current there, and closes where its last handle goes.
            let span = tracing::info_span!("request", request_id = "c");
            let id = span.id();
            let dispatch = tracing::dispatcher::get_default(|d| d.clone());
            let seen = std::thread::spawn(move || tracing::dispatcher::with_default(&dispatch, || span.in_scope(|| tracing::Span::current().id())))
                .join()
                .unwrap();
            assert_eq!(seen, id);
            assert!(!open(&id));
        });
    }

    /// A value whose `Debug` logs (while it is recorded on a span: no lock is held, nothing waits for itself).
    struct Chatty;
    impl std::fmt::Debug for Chatty {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            tracing::info!("formatting");
            f.write_str("chatty")
        }
    }

    #[test]
    fn a_value_that_logs_while_it_is_recorded_does_not_wait_for_itself() {
        let sink = Sink::default();
        let subscriber = PlainText::new("info".parse().unwrap(), Batched::to(Box::new(sink.clone()), 1));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", user = tracing::field::Empty);
            span.in_scope(|| {
                span.record("user", tracing::field::debug(Chatty));
                tracing::info!(value = ?Chatty, "line");
            });
        });
        // (The line logged while the event itself is written is dropped by tracing under a scoped dispatcher,
        // as here; under the global one it gets a buffer of its own, see `event`.)
        assert_eq!(
            without_times(&sink.0.lock().unwrap()),
            ["  INFO request: formatting", "  INFO request{user=chatty}: line value=chatty"]
        );
    }

    #[test]
    fn the_level_is_known_before_any_call_site_is_asked() {
        let at = |spec: &str| PlainText::new(spec.parse().unwrap(), Batched::to(Box::new(Sink::default()), 1)).max;
        assert_eq!(at("info"), LevelFilter::INFO);
        assert_eq!(at("warn"), LevelFilter::WARN);
        assert_eq!(at("warn,ecolabel=debug"), LevelFilter::DEBUG);
        assert_eq!(at("off"), LevelFilter::OFF);
        let sink = Sink::default();
        let subscriber = PlainText::new("warn,ecolabel=debug".parse().unwrap(), Batched::to(Box::new(sink.clone()), 1));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "actix_server", "not written");
            tracing::debug!(target: "ecolabel::web", "written");
        });
        assert_eq!(without_times(&sink.0.lock().unwrap()), [" DEBUG written"]);
    }

    #[test]
    fn plain_directives_take_the_lock_free_filter_and_span_directives_the_env_filter() {
        for spec in ["info", "warn", "info,ecolabel=debug", "ecolabel::web=trace,actix_server=warn"] {
            let (targets, env) = filters_for(spec);
            assert!(targets.is_some() && env.is_none(), "{spec}");
        }
        assert_eq!(filters_for("warn").0.and_then(|t| t.default_level()), Some(LevelFilter::WARN));
        for spec in ["info,[request{path=/register}]=debug", "info,[request]=debug", "warn,ecolabel[{user}]=debug"] {
            let (targets, env) = filters_for(spec);
            assert!(targets.is_none() && env.is_some(), "span and field directives need the EnvFilter: {spec}");
        }
        // A list is read as EnvFilter reads it: spaces and empty directives do not change it.
        let targets = |spec: &str| filters_for(spec).0.unwrap();
        assert_eq!(targets("info,").default_level(), Some(LevelFilter::INFO));
        assert_eq!(targets(" warn ,, ").default_level(), Some(LevelFilter::WARN));
        assert!(targets("info, ecolabel=debug").would_enable("ecolabel::web", &tracing::Level::DEBUG));
        assert!(!targets("info, ecolabel=debug").would_enable("actix_server", &tracing::Level::DEBUG));
        assert_eq!(targets(",").default_level(), Some(LevelFilter::INFO));
    }

    #[test]
    fn the_second_is_written_as_the_calendar_says() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (1_796_230_799, "2026-12-02T16:59:59"),
            (4_102_444_800, "2100-01-01T00:00:00"),
        ] {
            assert_eq!(rfc3339_second(secs), text);
        }
        for secs in (0..5_000_000_000u64).step_by(86_399 * 37) {
            let chrono = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap(), 0).unwrap();
            assert_eq!(rfc3339_second(secs), chrono.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
    }

    #[test]
    fn lines_gather_and_a_full_buffer_is_written_by_the_caller() {
        let sink = Sink::default();
        let mut w = Batched::to(Box::new(sink.clone()), 32);
        w.write_all(b"one line\n").unwrap();
        assert!(sink.0.lock().unwrap().is_empty(), "gathered, not written yet");
        w.write_all(&[b'x'; 30]).unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), 39, "the full buffer went out at once");
        assert!(w.shared.pending.lock().unwrap().is_empty());
    }

    #[test]
    fn the_thread_writes_batches_and_finishing_writes_what_is_left() {
        let sink = Sink::default();
        let w = Batched::to(Box::new(sink.clone()), MAX_PENDING);
        let thread = w.start().unwrap();
        w.clone().write_all(b"first\n").unwrap();
        for _ in 0..100 {
            if !sink.0.lock().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(EVERY);
        }
        assert_eq!(sink.0.lock().unwrap().as_slice(), b"first\n", "written by the thread within a tick");
        w.clone().write_all(b"last\n").unwrap();
        w.finish(thread);
        assert_eq!(sink.0.lock().unwrap().as_slice(), b"first\nlast\n");
    }
}
