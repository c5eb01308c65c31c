//! One tracing setup for binaries. `RUST_LOG` overrides the default filter.

/// Log to stderr; `default` is used when `RUST_LOG` is unset (e.g. "info").
pub fn init(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
