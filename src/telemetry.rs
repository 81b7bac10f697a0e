//! Logging: a tracing subscriber with an `RUST_LOG`-style filter and text or JSON output, written to stderr
//! in batches by a background thread. Nothing here ever sees a bearer token, key or evidence byte; callers do not log them.

use crate::config::LogFormat;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tracing_subscriber::{fmt, EnvFilter};

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

impl Write for Batched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = self.shared.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.extend_from_slice(buf);
            (pending.len() >= self.shared.limit).then(|| std::mem::take(&mut *pending))
        };
        if let Some(batch) = full {
            self.shared.write_out(&batch);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> fmt::MakeWriter<'a> for Batched {
    type Writer = Batched;
    fn make_writer(&'a self) -> Batched {
        self.clone()
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

/// Install the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Batched::default();
    // Colours only for a terminal: escape codes cost formatting time on every line and clutter a file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(writer.clone()).with_target(false).with_ansi(ansi);
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
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
