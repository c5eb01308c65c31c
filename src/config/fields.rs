//! Rules for settings a person types (one source: the config check, the desktop's commands and
//! the UI through `check_field` use these, never copies).

use std::net::SocketAddr;

/// Largest upload budget accepted (10 Gbit/s).
pub const MAX_UPLOAD_BUDGET_KBPS: u32 = 10_000_000;

/// The local ingest's listen address as typed: what is wrong with it, if anything. Port 0
/// (any free port) is refused here: OBS must be told the port.
pub fn local_listen_problem(text: &str) -> Option<String> {
    let t = text.trim();
    match t.parse::<SocketAddr>() {
        Err(_) => Some(format!("`{t}` is not an address like 127.0.0.1:1935")),
        Ok(a) if a.port() == 0 => {
            Some("choose a port OBS can be told about (1935 is RTMP's usual one)".into())
        }
        Ok(_) => None,
    }
}

/// A warning when the listen address accepts connections from other machines.
pub fn local_listen_warning(text: &str) -> Option<String> {
    let a = text.trim().parse::<SocketAddr>().ok()?;
    let loopback = match a.ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    (!loopback).then(|| {
        format!("{a} accepts OBS connections from other machines on your network (LAN): anyone with the ingest key could stream through this computer")
    })
}

/// The upload budget as typed (kbit/s; empty = no budget; `12 000`, `12,000` and `12_000` read
/// as 12000).
pub fn parse_upload_budget(text: &str) -> Result<Option<u32>, String> {
    let t: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '_' | ',')).collect();
    if t.is_empty() {
        return Ok(None);
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the upload budget is a whole number of kbit/s (e.g. 12000)".into());
    }
    let n: u64 = t.parse().map_err(|_| format!("must be at most {MAX_UPLOAD_BUDGET_KBPS} kbit/s"))?;
    upload_budget_problem(Some(n.min(u64::from(u32::MAX)) as u32)).map_or(Ok(Some(n as u32)), Err)
}

/// What is wrong with an upload budget, if anything.
pub fn upload_budget_problem(kbps: Option<u32>) -> Option<String> {
    match kbps {
        Some(0) => Some("the upload budget must be more than 0 kbit/s (leave it empty for none)".into()),
        Some(b) if b > MAX_UPLOAD_BUDGET_KBPS => {
            Some("the upload budget must be at most 10,000,000 kbit/s (10 Gbit/s)".into())
        }
        _ => None,
    }
}

/// What is wrong with an `[obs] url` as typed, if anything: a `ws://` (or `wss://`) address with
/// a host, no user name or password in it (the password goes in its own field, into the keyring).
pub fn obs_url_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return Some("enter OBS's WebSocket address, e.g. ws://127.0.0.1:4455".into());
    }
    let u = match url::Url::parse(t) {
        Ok(u) => u,
        Err(_) => {
            return Some(format!("`{}` is not an address like ws://127.0.0.1:4455", crate::telemetry::esc(t)))
        }
    };
    if !matches!(u.scheme(), "ws" | "wss") {
        return Some(format!(
            "OBS's WebSocket address starts with ws:// (or wss://), not {}://",
            crate::telemetry::esc(u.scheme())
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Some("the address needs a host, e.g. ws://127.0.0.1:4455".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some("leave the password out of the address: enter it in the password field".into());
    }
    None
}

/// What is wrong with an OBS WebSocket password as typed, if anything.
pub fn obs_password_problem(text: &str) -> Option<String> {
    text.trim().is_empty().then(|| {
        "enter OBS's WebSocket password (OBS: Tools › WebSocket Server Settings › Show Connect Info)".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(local_listen_problem("127.0.0.1:1935"), None);
        assert_eq!(local_listen_problem(" [::1]:1935 "), None);
        assert!(local_listen_problem("localhost:1935").unwrap().contains("not an address"));
        assert!(local_listen_problem("127.0.0.1:0").unwrap().contains("port"));
        assert_eq!(local_listen_warning("127.0.0.1:1935"), None);
        assert_eq!(local_listen_warning("[::ffff:127.0.0.1]:1935"), None);
        assert!(local_listen_warning("0.0.0.0:1935").unwrap().contains("other machines"));
        assert!(local_listen_warning("192.168.1.5:1935").is_some());
    }

    #[test]
    fn upload_budgets() {
        assert_eq!(parse_upload_budget(""), Ok(None));
        assert_eq!(parse_upload_budget(" 12 000 "), Ok(Some(12_000)));
        assert_eq!(parse_upload_budget("12,000"), Ok(Some(12_000)));
        assert!(parse_upload_budget("12k").unwrap_err().contains("whole number"));
        assert!(parse_upload_budget("0").unwrap_err().contains("more than 0"));
        assert!(parse_upload_budget("10000001").unwrap_err().contains("at most"));
        assert!(parse_upload_budget("99999999999999999999").is_err());
    }

    #[test]
    fn obs_fields() {
        assert_eq!(obs_url_problem("ws://127.0.0.1:4455"), None);
        assert_eq!(obs_url_problem(" wss://studio.lan:4455/ "), None);
        assert!(obs_url_problem("").unwrap().contains("ws://127.0.0.1:4455"));
        assert!(obs_url_problem("http://127.0.0.1:4455").unwrap().contains("not http://"));
        assert!(obs_url_problem("127.0.0.1:4455").is_some());
        assert!(obs_url_problem("ws://:pw@127.0.0.1:4455").unwrap().contains("password field"));
        assert!(obs_url_problem("ws://user@127.0.0.1:4455").is_some());
        assert_eq!(obs_password_problem("hunter2"), None);
        assert!(obs_password_problem("   ").unwrap().contains("WebSocket password"));
    }
}
