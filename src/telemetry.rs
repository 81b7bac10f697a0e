//! Logging: a tracing subscriber with an `RUST_LOG`-style filter and text or JSON output, written to stderr
//! in batches by a background thread. Nothing here ever sees a bearer token, key or evidence byte; callers do not log them.

use crate::config::LogFormat;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
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
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
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
        std::thread::Builder::new().name("ecolabel-log".into()).spawn(move || loop {
            let stopping = {
                let stop = shared.stop.lock().unwrap_or_else(|p| p.into_inner());
                let (stop, _) = shared.wake.wait_timeout(stop, EVERY).unwrap_or_else(|p| p.into_inner());
                *stop
            };
            let batch = shared.take();
            shared.write_out(&batch);
            if stopping {
                return;
            }
        })
    }

    /// Write out everything gathered and stop the thread.
    fn finish(&self, thread: std::thread::JoinHandle<()>) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        let _ = thread.join();
        let batch = self.shared.take();
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
    match spec.parse::<Targets>() {
        Ok(targets) => (Some(targets), None),
        Err(_) => (None, Some(EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info")))),
    }
}

type Filtered = Layered<Option<EnvFilter>, Layered<Option<Targets>, Registry>>;

fn install<L: Layer<Filtered> + Send + Sync>(layer: L) -> Result<(), tracing_subscriber::util::TryInitError> {
    let (targets, env) = filters();
    tracing_subscriber::registry().with(targets).with(env).with(layer).try_init()
}

/// Install the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let writer = Batched::default();
    // Colours only for a terminal: escape codes cost formatting time on every line and clutter a file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = fmt::layer().with_writer(writer.clone()).with_target(false).with_ansi(ansi);
    let installed = match format {
        LogFormat::Json => install(layer.json().flatten_event(true).with_current_span(true).with_span_list(false)),
        // A terminal gets tracing's own coloured lines; a file or a pipe the same lines, written plainly.
        LogFormat::Text if ansi => install(layer),
        LogFormat::Text => install(layer.event_format(PlainLine).fmt_fields(PlainFields)),
    };
    if installed.is_ok() {
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

/// The text format's lines without colours, as tracing's `Full` format writes them
/// (`2026-12-02T17:00:00.123456Z  INFO request{request_id=… method=GET path=/}: request status=200 us=35`),
/// written straight into the line: the `Full` format wraps every field name and value in a colour style
/// even with colours off, and formats the time through a calendar each time, which together were most of
/// the access log's cost (benches/log_cost.sh: 15,000 instructions of a QR page's 88,000).
struct PlainLine;

impl<S, N> fmt::FormatEvent<S, N> for PlainLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> fmt::FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &fmt::FmtContext<'_, S, N>, mut w: fmt::format::Writer<'_>, event: &tracing::Event<'_>) -> std::fmt::Result {
        use fmt::FormatFields as _;
        write_now(&mut w)?;
        w.write_str(match *event.metadata().level() {
            tracing::Level::ERROR => " ERROR ",
            tracing::Level::WARN => "  WARN ",
            tracing::Level::INFO => "  INFO ",
            tracing::Level::DEBUG => " DEBUG ",
            tracing::Level::TRACE => " TRACE ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                w.write_str(span.metadata().name())?;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<fmt::FormattedFields<N>>().filter(|f| !f.is_empty()) {
                    w.write_char('{')?;
                    w.write_str(fields)?;
                    w.write_char('}')?;
                }
                w.write_char(':')?;
            }
            w.write_char(' ')?;
        }
        ctx.format_fields(w.by_ref(), event)?;
        w.write_char('\n')
    }
}

/// Fields as `name=value` (strings as they are, other values as `Debug` writes them), the message bare.
struct PlainFields;

impl<'w> fmt::FormatFields<'w> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(&self, mut writer: fmt::format::Writer<'w>, fields: R) -> std::fmt::Result {
        // Gathered in a buffer of this thread's first, then written at once: a span's fields go into a new
        // string, which would otherwise grow (and move) a few times per span.
        thread_local! {
            static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        BUF.with(|cell| {
            let Ok(mut buf) = cell.try_borrow_mut() else {
                // Formatting a field value that itself logs: write straight through.
                return record_plain(&mut writer, fields);
            };
            buf.clear();
            let result = record_plain(&mut fmt::format::Writer::new(&mut *buf), fields);
            result.and_then(|()| writer.write_str(&buf))
        })
    }
}

fn record_plain<R: tracing_subscriber::field::RecordFields>(writer: &mut fmt::format::Writer<'_>, fields: R) -> std::fmt::Result {
    let mut v = PlainVisitor {
        w: writer,
        first: true,
        result: Ok(()),
    };
    fields.record(&mut v);
    v.result
}

struct PlainVisitor<'a, 'w> {
    w: &'a mut fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl PlainVisitor<'_, '_> {
    fn write(&mut self, field: &tracing::field::Field, value: impl FnOnce(&mut fmt::format::Writer<'_>) -> std::fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !self.first {
                self.w.write_char(' ')?;
            }
            self.first = false;
            if field.name() != "message" {
                self.w.write_str(field.name())?;
                self.w.write_char('=')?;
            }
            value(self.w)
        })();
    }
}

impl tracing::field::Visit for PlainVisitor<'_, '_> {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.write(field, |w| write!(w, "{value}"));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.write(field, |w| write!(w, "{value}"));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.write(field, |w| w.write_str(if value { "true" } else { "false" }));
    }
    /// Strings as they are (the request's id, method and path are recorded as `&str`: no formatting).
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.write(field, |w| w.write_str(value));
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.write(field, |w| write!(w, "{value:?}"));
    }
}

/// The time now as RFC 3339 in UTC with microseconds; the part to the second is kept per thread and made
/// again only when the second changes.
fn write_now(w: &mut fmt::format::Writer<'_>) -> std::fmt::Result {
    use std::cell::RefCell;
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let text = rfc3339_second(secs);
            *cached = (secs, text);
        }
        w.write_str(&cached.1)
    })?;
    // Six digits of microseconds, written as characters (no formatting machinery on every line).
    let mut digits = *b".000000Z";
    let mut micros = now.subsec_micros();
    for d in digits[1..7].iter_mut().rev() {
        *d = b'0' + u8::try_from(micros % 10).unwrap_or(0);
        micros /= 10;
    }
    w.write_str(std::str::from_utf8(&digits).unwrap_or(".000000Z"))
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

    #[test]
    fn plain_lines_read_like_tracings_own() {
        use tracing_subscriber::layer::SubscriberExt;
        let sink = Sink::default();
        let writer = Batched::to(Box::new(sink.clone()), 1);
        let subscriber = tracing_subscriber::registry().with(
            fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .event_format(PlainLine)
                .fmt_fields(PlainFields),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "abc-1", method = %"GET", path = "/V/…", user_id = tracing::field::Empty);
            span.record("user_id", 7);
            span.in_scope(|| tracing::info!(status = 200u16, us = 35u64, ok = true, note = "a b", "request"));
            tracing::warn!(refused = -3i64, "outside any span");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let (time, rest) = lines[0].split_at(27);
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.', "{time}");
        assert_eq!(
            rest,
            "  INFO request{request_id=abc-1 method=GET path=/V/… user_id=7}: request status=200 us=35 ok=true note=a b"
        );
        assert_eq!(&lines[1][27..], "  WARN outside any span refused=-3");
    }

    #[test]
    fn plain_directives_take_the_lock_free_filter_and_span_directives_the_env_filter() {
        use tracing::level_filters::LevelFilter;
        for spec in ["info", "warn", "info,ecolabel=debug", "ecolabel::web=trace,actix_server=warn"] {
            let (targets, env) = filters_for(spec);
            assert!(targets.is_some() && env.is_none(), "{spec}");
        }
        assert_eq!(filters_for("warn").0.and_then(|t| t.default_level()), Some(LevelFilter::WARN));
        let (targets, env) = filters_for("info,[request{path=/register}]=debug");
        assert!(targets.is_none() && env.is_some(), "span directives need the EnvFilter");
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
