//! Where an output publishes, parsed from the platform's RTMP(S) URL.

use super::RelayError;

/// Where an output publishes: parsed from `rtmp[s]://host[:port]/app[/...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushTarget {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) app: String,
    pub(crate) tc_url: String,
}

impl PushTarget {
    /// Error messages never repeat the URL (users paste keys into it).
    pub(crate) fn parse(url: &str) -> Result<Self, RelayError> {
        let bad = |m: &str| RelayError::InvalidUrl { message: m.to_string() };
        let u = url::Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        let tls = match u.scheme() {
            "rtmp" => false,
            "rtmps" => true,
            _ => return Err(bad("the scheme must be rtmp:// or rtmps://")),
        };
        let host_str = u.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
        let host = host_str.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = u.port().unwrap_or(if tls { 443 } else { 1935 });
        let mut app = u.path().trim_matches('/').to_string();
        if let Some(q) = u.query() {
            app = format!("{app}?{q}");
        }
        if app.is_empty() {
            return Err(bad("no application path (e.g. rtmp://host/app)"));
        }
        let authority = match u.port() {
            Some(p) => format!("{host_str}:{p}"),
            None => host_str.to_string(),
        };
        let tc_url = format!("{}://{authority}/{app}", u.scheme());
        Ok(PushTarget { tls, host, port, app, tc_url })
    }

    /// `scheme://host:port`, safe to log.
    pub(crate) fn display(&self) -> String {
        let scheme = if self.tls { "rtmps" } else { "rtmp" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_platform_urls() {
        let t = PushTarget::parse("rtmp://live.twitch.tv/app").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port, t.app.as_str()), (false, "live.twitch.tv", 1935, "app"));
        assert_eq!(t.tc_url, "rtmp://live.twitch.tv/app");
        let t = PushTarget::parse("rtmps://live-api-s.facebook.com:443/rtmp/").unwrap();
        assert_eq!((t.tls, t.port, t.app.as_str()), (true, 443, "rtmp"));
        assert_eq!(t.tc_url, "rtmps://live-api-s.facebook.com:443/rtmp");
        assert_eq!(t.display(), "rtmps://live-api-s.facebook.com:443");
        let t = PushTarget::parse("rtmps://x.global-contribute.live-video.net/app/").unwrap();
        assert_eq!(t.port, 443);
        let t = PushTarget::parse("rtmp://[::1]:1936/live/sub").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.app.as_str()), ("::1", 1936, "live/sub"));
        assert_eq!(t.display(), "rtmp://[::1]:1936");
        for bad in ["http://host/app", "rtmp://host", "rtmp:///app", "not a url"] {
            let e = PushTarget::parse(bad).unwrap_err();
            assert!(matches!(e, RelayError::InvalidUrl { .. }), "{bad}");
        }
        // The message never echoes the URL.
        let e = PushTarget::parse("ftp://host/app/secret-key").unwrap_err();
        assert!(!e.to_string().contains("secret-key"));
    }
}
