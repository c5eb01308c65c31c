//! DNS-rebinding defence: a web page on `evil.example` whose name later resolves to 127.0.0.1
//! can reach the control API from the streamer's browser, but its requests still carry
//! `Host: evil.example`. Only loopback names and addresses, the address the API listens on
//! (any IP literal when it listens on 0.0.0.0 / ::) pass; anything else is a 403 JSON error.
//! A request without a Host (HTTP/1.0 tools) passes: browsers always send one. Webhooks
//! (`/webhooks/...`) pass too: services reach them through a tunnel under its own name, and
//! each is verified by its own secret, which a rebinding page cannot know.

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// The host part of a `Host` value (port and IPv6 brackets removed, lowercased, no final dot).
fn host_part(value: &str) -> String {
    let v = value.trim();
    let host = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, _)) => h,
            None => return String::new(),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => v,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a request naming `host` may reach an API listening on `listen`.
pub(crate) fn allowed(host: &str, listen: SocketAddr) -> bool {
    let h = host_part(host);
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == listen.ip() || listen.ip().is_unspecified(),
        Err(_) => false,
    }
}

pub(crate) async fn check(listen: SocketAddr, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/webhooks/") {
        return next.run(req).await;
    }
    let host = req.headers().get(HOST).map(|v| v.to_str().unwrap_or("\u{fffd}").to_string());
    let host = host.or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(h) = host {
        if !allowed(&h, listen) {
            let shown = crate::telemetry::escaped(&h.chars().take(100).collect::<String>());
            tracing::debug!(host = %shown, "control API: foreign Host refused");
            return ApiError::Forbidden(format!(
                "the Host `{shown}` is not this computer; use http://127.0.0.1 or http://localhost"
            ))
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_the_listen_address_pass_other_names_do_not() {
        let lo: SocketAddr = "127.0.0.1:4850".parse().unwrap();
        for ok in [
            "127.0.0.1:4850",
            "localhost:4850",
            "LOCALHOST",
            "app.localhost:1",
            "[::1]:4850",
            "127.0.0.2",
            "localhost.",
        ] {
            assert!(allowed(ok, lo), "{ok}");
        }
        for bad in ["evil.example:4850", "192.168.1.5:4850", "localhost.evil.example", "", "[::1"] {
            assert!(!allowed(bad, lo), "{bad}");
        }
        let lan: SocketAddr = "192.168.1.5:4850".parse().unwrap();
        assert!(allowed("192.168.1.5:4850", lan) && !allowed("10.0.0.1", lan));
        let any: SocketAddr = "0.0.0.0:4850".parse().unwrap();
        assert!(allowed("10.0.0.1:4850", any) && !allowed("streampc.lan", any));
    }
}
