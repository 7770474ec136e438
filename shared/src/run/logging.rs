//! JSON logs through `tracing`. In Lambda, logs and EMF lines go to stdout, where Lambda
//! collects them; run from a shell they go to stderr, so stdout holds only the report.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

use crate::config::LogLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSink {
    Stdout,
    Stderr,
}

static SINK: OnceLock<LogSink> = OnceLock::new();

/// Installs the JSON subscriber once; later calls keep the first sink. Lambda's span
/// `Lambda runtime invoke{requestId=...}` makes every line carry the request id.
pub fn init(level: LogLevel, sink: LogSink) {
    if SINK.set(sink).is_err() {
        return;
    }
    let filter = EnvFilter::builder()
        .parse(format!(
            "{},aws_config=warn,aws_smithy_runtime=warn",
            level.as_filter()
        ))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter);
    let _ = match sink {
        LogSink::Stdout => builder.with_writer(std::io::stdout).try_init(),
        LogSink::Stderr => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// Writes one raw line (an EMF document) where the logs go.
pub fn write_line(line: &str) {
    let result = match SINK.get().copied().unwrap_or(LogSink::Stderr) {
        LogSink::Stdout => writeln!(std::io::stdout().lock(), "{line}"),
        LogSink::Stderr => writeln!(std::io::stderr().lock(), "{line}"),
    };
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not write a metrics line");
    }
}
