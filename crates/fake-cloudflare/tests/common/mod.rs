//! Helpers shared by the fake's tests: an HTTP caller and a JSON-Schema validator built from the
//! official OpenAPI file.

#![allow(dead_code)]

use fake_cloudflare::{FakeCloudflare, FakeOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const TOKEN: &str = "test-token-with-stream";

pub async fn start() -> FakeCloudflare {
    FakeCloudflare::start(FakeOptions {
        account_id: ACCOUNT.into(),
        token: TOKEN.into(),
        ..FakeOptions::default()
    })
    .await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    /// The first error code of a failure envelope.
    pub fn code(&self) -> u64 {
        let v = self.json();
        assert_eq!(v["success"], false, "expected a failure envelope: {v}");
        v["errors"][0]["code"].as_u64().expect("errors[0].code")
    }
}

/// One request; `path` is below `/client/v4` unless it starts with `/__fake`.
pub async fn call(
    fake: &FakeCloudflare,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let url = if path.starts_with("/__fake") {
        format!("{}{path}", fake.root_url())
    } else {
        format!("{}{path}", fake.base_url())
    };
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let resp = req.send().await.expect("request reaches the fake");
    Reply { status: resp.status(), headers: resp.headers().clone(), text: resp.text().await.expect("body") }
}

pub fn inputs_path() -> String {
    format!("/accounts/{ACCOUNT}/stream/live_inputs")
}

/// Creates a live input through the API and returns its body (`result`).
pub async fn create_input(fake: &FakeCloudflare, body: Value) -> Value {
    let r = call(fake, Method::POST, &inputs_path(), Some(TOKEN), Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["result"].clone()
}

pub async fn create_output(fake: &FakeCloudflare, input_uid: &str) -> Value {
    let body = json!({"url": "rtmp://a.rtmp.youtube.com/live2", "streamKey": "abcd-efgh"});
    let r = call(
        fake,
        Method::POST,
        &format!("{}/{input_uid}/outputs", inputs_path()),
        Some(TOKEN),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["result"].clone()
}

pub mod schema {
    use serde_json::{json, Map, Value};

    /// The official schema, vendored byte for byte from `shared/cloudflare/` (see
    /// `schema/SOURCE.md`) so the tests run on any machine.
    const OPENAPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/stream-live-inputs.openapi.json");
    /// The team's shared copy, when this checkout sits beside it.
    const SHARED: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/cloudflare/stream-live-inputs.openapi.json");

    /// The vendored schema must stay identical to the shared one wherever both exist.
    pub fn vendored_matches_shared() -> Option<bool> {
        let shared = std::fs::read(SHARED).ok()?;
        Some(std::fs::read(OPENAPI).ok()? == shared)
    }

    /// Object schemas that get `additionalProperties: false` in strict mode, so a field the
    /// fake invents (or misspells) fails validation.
    const LEAF_OBJECTS: [&str; 10] = [
        "stream_live_input",
        "stream_live_input_object_without_url",
        "stream_live_input_recording_settings",
        "stream_input_rtmps",
        "stream_input_srt",
        "stream_input_webrtc",
        "stream_playback_rtmps",
        "stream_playback_srt",
        "stream_playback_webrtc",
        "stream_output",
    ];

    /// `nullable: true` (OpenAPI 3.0) → a `null` alternative in `type` and `enum`.
    fn convert_nullable(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.remove("nullable") == Some(Value::Bool(true)) {
                    if let Some(Value::String(t)) = map.get("type").cloned() {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    if let Some(Value::Array(values)) = map.get_mut("enum") {
                        if !values.contains(&Value::Null) {
                            values.push(Value::Null);
                        }
                    }
                }
                map.values_mut().for_each(convert_nullable);
            }
            Value::Array(items) => items.iter_mut().for_each(convert_nullable),
            _ => {}
        }
    }

    /// The object form of `status` (SOURCE.md), strict.
    fn status_object() -> Value {
        let entry = json!({
            "type": "object",
            "required": ["state"],
            "properties": {
                "state": {"type": "string", "enum": ["connected", "disconnected", "error"]},
                "reason": {"type": "string"},
                "ingestProtocol": {"type": "string"},
                "statusEnteredAt": {"type": "string", "format": "date-time"},
                "statusLastSeen": {"type": "string", "format": "date-time"}
            },
            "additionalProperties": false
        });
        json!({
            "type": "object",
            "properties": {"current": entry, "history": {"type": "array", "items": entry}},
            "additionalProperties": false
        })
    }

    fn props<'a>(schemas: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
        schemas
            .get_mut(name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("schema {name} has properties"))
    }

    /// `components` of the official file, made fit for a JSON-Schema validator: nullable
    /// converted, `status` widened to string | object | null, drift fields typed, and (strict)
    /// leaf objects closed.
    pub fn components(strict: bool) -> Value {
        let text = std::fs::read_to_string(OPENAPI).unwrap_or_else(|e| panic!("read {OPENAPI}: {e}"));
        let doc: Value = serde_json::from_str(&text).expect("the OpenAPI file is JSON");
        let mut components = doc["components"].clone();
        convert_nullable(&mut components);
        let schemas = components["schemas"].as_object_mut().expect("components.schemas");

        let declared = schemas["stream_live_input_status"].clone();
        schemas.insert("stream_live_input_status".into(), json!({"anyOf": [declared, status_object()]}));

        let input = props(schemas, "stream_live_input");
        input.insert("enabled".into(), json!({"type": "boolean"}));
        input.insert("preferLowLatency".into(), json!({"type": "boolean"}));
        input.insert("keysRotatedAt".into(), json!({"type": "string", "format": "date-time"}));
        props(schemas, "stream_live_input_recording_settings")
            .insert("hideLiveViewerCount".into(), json!({"type": "boolean"}));
        props(schemas, "stream_output")
            .insert("status".into(), json!({"anyOf": [{"type": "null"}, status_object()]}));
        let message = schemas["stream_messages"]["items"].as_object_mut().expect("stream_messages.items");
        if let Some(Value::Object(p)) = message.get_mut("properties") {
            p.insert("documentation_url".into(), json!({"type": "string"}));
            p.insert(
                "source".into(),
                json!({"type": "object", "properties": {"pointer": {"type": "string"}}}),
            );
        }
        if strict {
            message.insert("additionalProperties".into(), json!(false));
            for name in LEAF_OBJECTS {
                if let Some(Value::Object(s)) = schemas.get_mut(name) {
                    s.insert("additionalProperties".into(), json!(false));
                }
            }
        }
        components
    }

    /// Validates instances against one `components.schemas` entry.
    pub struct Check {
        validator: jsonschema::Validator,
    }

    impl Check {
        /// `strict` also closes the envelope (`unevaluatedProperties: false`).
        pub fn new(schema_name: &str, strict: bool) -> Check {
            let mut root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": components(strict),
                "allOf": [{"$ref": format!("#/components/schemas/{schema_name}")}],
            });
            if strict {
                root["unevaluatedProperties"] = json!(false);
            }
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("schema {schema_name} compiles: {e}"));
            Check { validator }
        }

        pub fn errors(&self, instance: &Value) -> Vec<String> {
            self.validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect()
        }

        #[track_caller]
        pub fn assert_valid(&self, instance: &Value) {
            let errors = self.errors(instance);
            assert!(errors.is_empty(), "schema violations: {errors:#?}\nin {instance:#}");
        }

        #[track_caller]
        pub fn assert_invalid(&self, instance: &Value) {
            assert!(!self.validator.is_valid(instance), "expected a schema violation in {instance:#}");
        }
    }
}
