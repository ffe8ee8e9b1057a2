//! Logging set-up shared by every daemon's entry point and by tests.

use tracing_subscriber::EnvFilter;

/// Text (default) or JSON logs to stderr; level from `RUST_LOG`, else from `-v`.
pub fn init(format: &str, verbosity: u8) {
    let default = match verbosity {
        0..=1 => "info",
        2..=4 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}
