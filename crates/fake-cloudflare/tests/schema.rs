//! Every response of the fake validates against Cloudflare's official schema
//! (`shared/cloudflare/stream-live-inputs.openapi.json`, adapted as SOURCE.md says).

mod common;

use common::schema::Check;
use common::{call, create_input, create_output, inputs_path, start, ACCOUNT, TOKEN};
use fake_cloudflare::StatusForm;
use reqwest::{Method, StatusCode};
use serde_json::json;

const SINGLE_INPUT: &str = "stream_live_input_response_single";
const INPUTS: &str = "stream_live_input_response_collection";
const SINGLE_OUTPUT: &str = "stream_output_response_single";
const OUTPUTS: &str = "stream_output_response_collection";
const FAILURE: &str = "stream_api-response-common-failure";
const COMMON: &str = "stream_api-response-common";

#[test]
fn the_validator_rejects_wrong_documents() {
    let check = Check::new(SINGLE_INPUT, true);
    let good = json!({
        "success": true, "errors": [], "messages": [],
        "result": {
            "uid": "66be4bf738797e01e1fca35a7bdecdcd",
            "created": "2014-01-02T02:20:00Z",
            "meta": {"name": "x"},
            "status": {"current": {"state": "connected", "statusEnteredAt": "2024-01-01T00:00:00Z"}},
        }
    });
    check.assert_valid(&good);

    let mut uid_number = good.clone();
    uid_number["result"]["uid"] = json!(123);
    check.assert_invalid(&uid_number);

    let mut unknown_field = good.clone();
    unknown_field["result"]["streamKey"] = json!("leaked");
    check.assert_invalid(&unknown_field);

    let mut bad_state = good.clone();
    bad_state["result"]["status"] = json!({"current": {"state": 5}});
    check.assert_invalid(&bad_state);

    let mut bad_string_status = good.clone();
    bad_string_status["result"]["status"] = json!("on_fire");
    check.assert_invalid(&bad_string_status);

    let mut bad_date = good.clone();
    bad_date["result"]["created"] = json!("yesterday");
    check.assert_invalid(&bad_date);

    let mut no_success = good.clone();
    no_success.as_object_mut().map(|o| o.remove("success"));
    check.assert_invalid(&no_success);

    let mut extra_top = good;
    extra_top["surprise"] = json!(1);
    check.assert_invalid(&extra_top);

    let failure = Check::new(FAILURE, true);
    failure.assert_valid(&json!({"success": false, "errors": [{"code": 10000, "message": "m"}], "messages": [], "result": null}));
    failure.assert_invalid(&json!({"success": true, "errors": [], "messages": [], "result": null}));
    failure.assert_invalid(
        &json!({"success": false, "errors": [{"code": "x", "message": "m"}], "messages": [], "result": null}),
    );
}

#[test]
fn the_declared_string_and_null_status_forms_stay_valid() {
    let check = Check::new(SINGLE_INPUT, true);
    for status in [json!(null), json!("connected"), json!("client_disconnect")] {
        check.assert_valid(&json!({
            "success": true, "errors": [], "messages": [],
            "result": {"uid": "66be4bf738797e01e1fca35a7bdecdcd", "status": status}
        }));
    }
}

#[tokio::test]
async fn every_live_input_operation_matches_the_schema() {
    let fake = start().await;
    let single = Check::new(SINGLE_INPUT, true);

    let created = call(
        &fake,
        Method::POST,
        &inputs_path(),
        Some(TOKEN),
        Some(r#"{"meta": {"name": "streampai:user-1"}, "recording": {"mode": "automatic", "timeoutSeconds": 10}, "deleteRecordingAfterDays": 45, "defaultCreator": "u1"}"#),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK);
    single.assert_valid(&created.json());
    let uid = created.json()["result"]["uid"].as_str().expect("uid").to_string();
    assert_eq!(created.json()["result"]["status"], json!(null));

    let one = format!("{}/{uid}", inputs_path());
    let got = call(&fake, Method::GET, &one, Some(TOKEN), None).await;
    single.assert_valid(&got.json());

    fake.set_connected(&uid, true).expect("input exists");
    let connected = call(&fake, Method::GET, &one, Some(TOKEN), None).await.json();
    single.assert_valid(&connected);
    assert_eq!(connected["result"]["status"]["current"]["state"], "connected");

    fake.set_connected(&uid, false).expect("input exists");
    let disconnected = call(&fake, Method::GET, &one, Some(TOKEN), None).await.json();
    single.assert_valid(&disconnected);
    assert_eq!(disconnected["result"]["status"]["history"][0]["state"], "connected");

    fake.set_status_form(StatusForm::String);
    let string_form = call(&fake, Method::GET, &one, Some(TOKEN), None).await.json();
    single.assert_valid(&string_form);
    assert_eq!(string_form["result"]["status"], "client_disconnect");
    fake.set_status_form(StatusForm::Object);

    let updated = call(
        &fake,
        Method::PUT,
        &one,
        Some(TOKEN),
        Some(r#"{"meta": {"name": "renamed"}, "enabled": false, "recording": {"hideLiveViewerCount": true, "allowedOrigins": ["example.com"]}}"#),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    single.assert_valid(&updated.json());

    let rotated = call(&fake, Method::POST, &format!("{one}/rotate_keys"), Some(TOKEN), None).await;
    single.assert_valid(&rotated.json());
    assert!(rotated.json()["result"]["keysRotatedAt"].is_string());

    let list = call(&fake, Method::GET, &inputs_path(), Some(TOKEN), None).await;
    Check::new(INPUTS, true).assert_valid(&list.json());
    assert_eq!(list.json()["result"]["liveInputs"][0]["uid"], uid.as_str());

    let deleted = call(&fake, Method::DELETE, &one, Some(TOKEN), Some("{}")).await;
    assert_eq!(deleted.status, StatusCode::OK);
    Check::new(COMMON, false).assert_valid(&deleted.json());
}

#[tokio::test]
async fn every_output_operation_matches_the_schema() {
    let fake = start().await;
    let input = create_input(&fake, json!({})).await;
    let uid = input["uid"].as_str().expect("uid");
    let outputs_path = format!("{}/{uid}/outputs", inputs_path());
    let single = Check::new(SINGLE_OUTPUT, true);

    let created = call(
        &fake,
        Method::POST,
        &outputs_path,
        Some(TOKEN),
        Some(r#"{"url": "rtmps://live.twitch.tv/app", "streamKey": "live_123", "enabled": false}"#),
    )
    .await;
    single.assert_valid(&created.json());
    let output_uid = created.json()["result"]["uid"].as_str().expect("uid").to_string();
    create_output(&fake, uid).await;

    fake.set_connected(uid, true).expect("input exists");
    let list = call(&fake, Method::GET, &outputs_path, Some(TOKEN), None).await;
    Check::new(OUTPUTS, true).assert_valid(&list.json());
    assert_eq!(list.json()["result"].as_array().map(Vec::len), Some(2));

    let one = format!("{outputs_path}/{output_uid}");
    let updated = call(&fake, Method::PUT, &one, Some(TOKEN), Some(r#"{"enabled": true}"#)).await;
    single.assert_valid(&updated.json());
    assert_eq!(updated.json()["result"]["status"]["current"]["state"], "connected");

    fake.set_output_state(uid, &output_uid, Some("error")).expect("output exists");
    let list = call(&fake, Method::GET, &outputs_path, Some(TOKEN), None).await;
    Check::new(OUTPUTS, true).assert_valid(&list.json());

    let deleted = call(&fake, Method::DELETE, &one, Some(TOKEN), None).await;
    Check::new(COMMON, false).assert_valid(&deleted.json());
}

#[tokio::test]
async fn error_envelopes_match_the_failure_schema() {
    let fake = start().await;
    fake.add_token_without_stream("no-stream");
    let failure = Check::new(FAILURE, true);
    let unknown = format!("{}/{}", inputs_path(), "0".repeat(32));
    let cases = [
        (Method::GET, inputs_path(), None, None, 401),
        (Method::GET, inputs_path(), Some("wrong"), None, 401),
        (Method::GET, inputs_path(), Some("no-stream"), None, 403),
        (Method::GET, format!("/accounts/{}/stream/live_inputs", "f".repeat(32)), Some(TOKEN), None, 403),
        (Method::GET, unknown.clone(), Some(TOKEN), None, 404),
        (Method::POST, inputs_path(), Some(TOKEN), Some("{not json"), 400),
        (Method::POST, inputs_path(), Some(TOKEN), Some(r#"{"meta": 1}"#), 400),
        (Method::GET, "/no/such/route".to_string(), Some(TOKEN), None, 404),
        (Method::PATCH, inputs_path(), Some(TOKEN), None, 405),
    ];
    for (method, path, token, body, status) in cases {
        let r = call(&fake, method.clone(), &path, token, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text);
        failure.assert_valid(&r.json());
    }
    assert!(ACCOUNT.len() == 32);
}

#[test]
fn the_vendored_schema_is_the_shared_one() {
    match common::schema::vendored_matches_shared() {
        Some(same) => assert!(same, "crates/fake-cloudflare/schema/ differs from ../shared/cloudflare/"),
        None => eprintln!("no ../shared beside this checkout; using the vendored schema"),
    }
}
