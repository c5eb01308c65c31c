//! Google's OAuth 2.0 for installed apps
//! (<https://developers.google.com/identity/protocols/oauth2/native-app>):
//! `GET /o/oauth2/v2/auth` (the consent page: the fake approves at once, or denies on a
//! [`Fault::Deny`], by redirecting to the loopback `redirect_uri` with `code` and `state`, or
//! `error=access_denied`), `POST /token` (`authorization_code` with the PKCE `code_verifier`,
//! `refresh_token`; both need `client_id` and `client_secret`) and `POST /revoke`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use sha2::Digest;

use super::faults::{oauth_error, response_for, Fault, Route};
use super::state::{AuthCode, YouTubeState};

/// Count the request, apply a delay fault, and answer an error fault.
pub(crate) async fn enter(state: &YouTubeState, route: Route) -> Result<Option<Fault>, Response> {
    let delay = |f: &Fault| match f {
        Fault::Delay(d) => Some(*d),
        _ => None,
    };
    fake_support::apply_fault(state.enter(route), delay, |f| response_for(route, f)).await
}

/// Google's own error page (it never redirects to an unregistered or malformed `redirect_uri`).
fn error_page(status: u16, error: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<h1>Access blocked</h1><p>Error {status}: {error}</p>"),
    )
        .into_response()
}

/// A loopback redirect URI as Google accepts for a Desktop app: `http://127.0.0.1:PORT[/path]`,
/// `http://[::1]:PORT[/path]` or `http://localhost:PORT[/path]`, any port.
fn loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else { return false };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => host_port,
    };
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", ser.finish())
}

pub(crate) async fn authorize(
    State(state): State<YouTubeState>,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    let fault = match enter(&state, Route::Authorize).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let opts = state.options();
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != opts.client_id {
        return error_page(401, "invalid_client (The OAuth client was not found.)");
    }
    let redirect_uri = get("redirect_uri");
    if !loopback_redirect(redirect_uri) {
        return error_page(400, "redirect_uri_mismatch");
    }
    let st = get("state");
    let back = |pairs: &[(&str, &str)]| {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if !st.is_empty() {
            all.push(("state", st));
        }
        (StatusCode::FOUND, [(header::LOCATION, with_query(redirect_uri, &all))]).into_response()
    };
    if get("response_type") != "code" {
        return back(&[("error", "unsupported_response_type")]);
    }
    let scopes: Vec<String> = get("scope").split_whitespace().map(str::to_string).collect();
    if scopes.is_empty() {
        return back(&[("error", "invalid_scope")]);
    }
    let challenge = match (p.get("code_challenge"), p.get("code_challenge_method").map(String::as_str)) {
        (None, _) => None,
        (Some(c), Some("S256")) => Some((c.clone(), "S256".to_string())),
        (Some(c), None | Some("plain")) => Some((c.clone(), "plain".to_string())),
        (Some(_), Some(_)) => return back(&[("error", "invalid_request")]),
    };
    if fault == Some(Fault::Deny) {
        return back(&[("error", "access_denied")]);
    }
    let code = state.new_code(AuthCode {
        client_id: opts.client_id,
        redirect_uri: redirect_uri.to_string(),
        challenge,
        scopes: scopes.clone(),
        expires_at: Instant::now() + Duration::from_secs(600),
        used: false,
    });
    let scope = scopes.join(" ");
    back(&[("code", &code), ("scope", &scope)])
}

pub(crate) async fn token(
    State(state): State<YouTubeState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let p = crate::form_params(query, &body);
    let route = match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => Route::TokenCode,
        Some("refresh_token") => Route::TokenRefresh,
        _ => Route::TokenOther,
    };
    if let Err(resp) = enter(&state, route).await {
        return resp;
    }
    let opts = state.options();
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if route == Route::TokenOther {
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ");
    }
    if get("client_id") != opts.client_id || get("client_secret") != opts.client_secret {
        return oauth_error(401, "invalid_client", "Unauthorized");
    }
    if route == Route::TokenRefresh {
        return match state.refresh(get("client_id"), get("refresh_token")) {
            Some((access, ttl, scopes)) => Json(json!({
                "access_token": access,
                "expires_in": ttl,
                "scope": scopes.join(" "),
                "token_type": "Bearer",
            }))
            .into_response(),
            None => oauth_error(400, "invalid_grant", "Token has been expired or revoked."),
        };
    }
    let code_value = get("code");
    let outcome = {
        let mut g = state.lock();
        match g.codes.get_mut(code_value) {
            None => Err("Malformed auth code."),
            Some(c) if c.used || c.expires_at <= Instant::now() => Err("Bad Request"),
            Some(c) if c.redirect_uri != get("redirect_uri") => Err("redirect_uri_mismatch"),
            Some(c) => {
                let verified = match &c.challenge {
                    None => Ok(()),
                    Some((challenge, method)) => match p.get("code_verifier") {
                        None => Err("Missing code verifier."),
                        Some(v) => {
                            let derived = if method == "S256" {
                                base64::engine::general_purpose::URL_SAFE_NO_PAD
                                    .encode(sha2::Sha256::digest(v.as_bytes()))
                            } else {
                                v.clone()
                            };
                            if derived == *challenge {
                                Ok(())
                            } else {
                                Err("Invalid code verifier.")
                            }
                        }
                    },
                };
                match verified {
                    Ok(()) => {
                        c.used = true;
                        Ok((c.client_id.clone(), c.scopes.clone()))
                    }
                    Err(e) => {
                        g.verifier_failures += 1;
                        Err(e)
                    }
                }
            }
        }
    };
    match outcome {
        Ok((client_id, scopes)) => {
            let (access, refresh, ttl) = state.issue(&client_id, scopes.clone());
            Json(json!({
                "access_token": access,
                "expires_in": ttl,
                "refresh_token": refresh,
                "scope": scopes.join(" "),
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err("redirect_uri_mismatch") => oauth_error(400, "redirect_uri_mismatch", "Bad Request"),
        Err(why) => oauth_error(400, "invalid_grant", why),
    }
}

pub(crate) async fn revoke(
    State(state): State<YouTubeState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Err(resp) = enter(&state, Route::Revoke).await {
        return resp;
    }
    let p = crate::form_params(query, &body);
    if state.revoke_token(p.get("token").map(String::as_str).unwrap_or_default()) {
        Json(json!({})).into_response()
    } else {
        oauth_error(400, "invalid_token", "Token expired or revoked")
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_redirect;

    #[test]
    fn only_loopback_redirects_are_accepted() {
        assert!(loopback_redirect("http://127.0.0.1:53211/"));
        assert!(loopback_redirect("http://127.0.0.1:53211"));
        assert!(loopback_redirect("http://[::1]:9/cb"));
        assert!(loopback_redirect("http://localhost:80/x"));
        assert!(!loopback_redirect("https://127.0.0.1:1/"));
        assert!(!loopback_redirect("http://example.com:1/"));
        assert!(!loopback_redirect("http://127.0.0.1.evil.com:1/"));
    }
}
