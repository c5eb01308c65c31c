//! Relay settings, with defaults that serve a local OBS → platforms simulcast.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secrets::Secret;

use super::RelayError;

/// Settings of one relay (one publisher, any number of outputs).
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where OBS publishes. The caller binds it and passes the listener to
    /// [`Relay::start`](super::Relay::start); this is the documented default, 127.0.0.1:1935.
    pub listen: SocketAddr,
    /// The RTMP application OBS publishes to (`rtmp://<listen>/<app>`), default `live`.
    pub app: String,
    /// The only stream key accepted for publishing.
    pub stream_key: Secret,
    /// Per-output queue bound, in media **bytes** (payloads waiting to be written to that
    /// platform). When a frame would pass it, the output drops frames until the next keyframe
    /// that fits. Default 4 MiB (about 5 s at 6 Mbit/s).
    pub queue_limit: usize,
    /// First reconnect delay (default 1 s); doubles per failed attempt, with jitter.
    pub retry_initial: Duration,
    /// Longest reconnect delay (default 30 s).
    pub retry_max: Duration,
    /// Consecutive failed attempts before an output gives up (`Failed`); 0 = unlimited (default).
    pub max_reconnects: u32,
    /// PEM certificates added to the web PKI roots for RTMPS (e.g. a self-signed test endpoint).
    pub extra_ca_file: Option<PathBuf>,
    /// "Receiving" means media bytes arrived within this window (default 3 s).
    pub traffic_window: Duration,
    /// Bound of the GOP cache in bytes (default 12 MiB); a longer GOP is not cached, and an
    /// output that joins then starts at the next keyframe.
    pub gop_cache_limit: usize,
    /// Limit for a platform's TCP connect, TLS and RTMP handshake, and publish (default 10 s).
    pub connect_timeout: Duration,
    /// An output whose socket accepts no bytes for this long is reconnected (default 20 s).
    pub write_stall_timeout: Duration,
    /// `SO_SNDBUF` of platform sockets in bytes; 0 (default) leaves the kernel's autotuning,
    /// which on Linux lets up to `net.ipv4.tcp_wmem` max (4 MiB) queue in the kernel before
    /// the relay's own queue, and so its drop-to-keyframe policy, comes into play. A smaller
    /// value makes a congested platform drop frames sooner (less delay, more drops).
    pub send_buffer: usize,
}

impl RelayConfig {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:1935";

    /// Defaults for everything but the stream key.
    pub fn new(stream_key: Secret) -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 1935)),
            app: "live".into(),
            stream_key,
            queue_limit: 4 * 1024 * 1024,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            max_reconnects: 0,
            extra_ca_file: None,
            traffic_window: Duration::from_secs(3),
            gop_cache_limit: 12 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(20),
            send_buffer: 0,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), RelayError> {
        let bad = |m: &str| Err(RelayError::Config { message: m.to_string() });
        if self.stream_key.is_blank() {
            return bad("the ingest stream key is empty");
        }
        if self.app.trim_matches('/').is_empty() {
            return bad("the ingest application name is empty");
        }
        if self.queue_limit == 0 || self.gop_cache_limit == 0 {
            return bad("queue_limit and gop_cache_limit must be positive");
        }
        if self.retry_initial.is_zero() || self.retry_max < self.retry_initial {
            return bad("retry_initial must be positive and not above retry_max");
        }
        if self.traffic_window.is_zero()
            || self.connect_timeout.is_zero()
            || self.write_stall_timeout.is_zero()
        {
            return bad("traffic_window, connect_timeout and write_stall_timeout must be positive");
        }
        Ok(())
    }

    /// The application name without surrounding slashes.
    pub(crate) fn app_name(&self) -> &str {
        self.app.trim_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_blank_keys_are_not() {
        let cfg = RelayConfig::new(Secret::new("k"));
        assert_eq!(cfg.listen.to_string(), RelayConfig::DEFAULT_LISTEN);
        cfg.validate().expect("defaults");
        let err = RelayConfig::new(Secret::new("  ")).validate().unwrap_err();
        assert!(matches!(err, RelayError::Config { .. }));
        let mut cfg = RelayConfig::new(Secret::new("k"));
        cfg.retry_max = Duration::from_millis(1);
        assert!(cfg.validate().is_err());
    }
}
