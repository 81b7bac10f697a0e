//! Logging: a tracing subscriber with an `RUST_LOG`-style filter and text or JSON output.
//! Nothing here ever sees a bearer token, key or evidence byte; callers do not log them.

use crate::config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

/// Install the global subscriber once; later calls (tests) are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
