//! Logging: a tracing subscriber with an `RUST_LOG`-style filter and text or JSON output, written to stderr
//! by a background thread. Nothing here ever sees a bearer token, key or evidence byte; callers do not log them.

use crate::config::LogFormat;
use std::sync::Mutex;
use tracing_subscriber::{fmt, EnvFilter};

/// The log writer's thread, kept until `flush` (the end of `main`) so that the last lines are written.
static WRITER: Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> = Mutex::new(None);

/// Install the global subscriber once; later calls (tests) are ignored. Lines go through a queue to a
/// writer thread, so a request never waits for stderr; the queue is not lossy (a line is never dropped: if
/// stderr stops taking them, the queue of 128,000 lines fills and only then do callers wait). The thread
/// writes through a buffer that it flushes each time the queue runs empty: under load one `write` carries
/// many lines instead of one system call per line, and when idle each line still goes out at once.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("ecolabel-log")
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    // Colours only for a terminal: escape codes cost formatting time on every line and clutter a file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(writer).with_target(false).with_ansi(ansi);
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if installed.is_ok() {
        if let Ok(mut w) = WRITER.lock() {
            *w = Some(guard);
        }
    }
}

/// Write out every queued line and stop the writer (at the end of `main`).
pub fn flush() {
    if let Ok(mut w) = WRITER.lock() {
        w.take();
    }
}
