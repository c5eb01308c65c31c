use super::*;

fn input(title: &str) -> StreamInfoInput {
    StreamInfoInput { title: Some(title.into()), ..Default::default() }
}

fn field_of(e: EngineError) -> (String, String) {
    match e {
        EngineError::InvalidInput { field, message } => (field, message),
        other => panic!("not an input error: {other:?}"),
    }
}

#[test]
fn a_save_refuses_only_what_no_platform_takes_and_names_the_field() {
    for bad in ["", "   ", "\t"] {
        let (f, m) = field_of(input(bad).validate(None).unwrap_err());
        assert_eq!((f.as_str(), m.as_str()), ("title", "enter a title"));
    }
    assert_eq!(field_of(StreamInfoInput::default().validate(None).unwrap_err()).0, "title");
    let (f, m) = field_of(input(&"x".repeat(141)).validate(None).unwrap_err());
    assert_eq!(f, "title");
    assert!(m.contains("140") && m.contains("141"), "{m}");
    assert_eq!(field_of(input("two\nlines").validate(None).unwrap_err()).0, "title");
    // 140 characters (not bytes) is fine; so is what only YouTube refuses.
    let ok = input(&"é".repeat(140)).validate(None).unwrap();
    assert_eq!(ok.title.chars().count(), 140);
    assert_eq!(input("  <b>bold</b>  ").validate(None).unwrap().title, "<b>bold</b>");

    let cat = |id: &str| StreamInfoInput { twitch_category_id: Some(id.into()), ..input("t") };
    for bad in ["abc", "12a", "-1", &"1".repeat(21)] {
        assert_eq!(field_of(cat(bad).validate(None).unwrap_err()).0, "twitch_category_id", "{bad}");
    }
    assert_eq!(cat("").validate(None).unwrap().twitch_category_id, None, "empty leaves it as it is");
    assert_eq!(cat(" 509658 ").validate(None).unwrap().twitch_category_id.as_deref(), Some("509658"));

    let desc = |d: String| StreamInfoInput { youtube_description: Some(d), ..input("t") };
    let (f, m) = field_of(desc("é".repeat(2501)).validate(None).unwrap_err());
    assert_eq!(f, "youtube_description");
    assert!(m.contains("5000 bytes") && m.contains("5002"), "{m}");
    assert!(desc("line one\nline two\ttab".into()).validate(None).is_ok());
    assert_eq!(field_of(desc("nul\u{0}".into()).validate(None).unwrap_err()).0, "youtube_description");
    assert_eq!(desc("  \n ".into()).validate(None).unwrap().youtube_description, None);
}

#[test]
fn the_category_name_follows_its_id() {
    let with = |id: Option<&str>, name: Option<&str>| StreamInfoInput {
        twitch_category_id: id.map(str::to_string),
        twitch_category_name: name.map(str::to_string),
        ..input("t")
    };
    let saved = with(Some("33214"), Some("Fortnite")).validate(None).unwrap();
    assert_eq!(saved.twitch_category_name.as_deref(), Some("Fortnite"));
    // The same id without a name keeps the saved name; another id drops it.
    assert_eq!(
        with(Some("33214"), None).validate(Some(&saved)).unwrap().twitch_category_name.as_deref(),
        Some("Fortnite")
    );
    assert_eq!(with(Some("27471"), None).validate(Some(&saved)).unwrap().twitch_category_name, None);
    // No id: no name.
    assert_eq!(with(None, Some("Fortnite")).validate(Some(&saved)).unwrap().twitch_category_name, None);
}

#[test]
fn results_have_the_contract_shape() {
    let results = PushResults {
        twitch: PushResult::updated(),
        youtube: PushResult::failed(PushError::new(PushErrorKind::NotSignedIn, "not signed in to YouTube")),
    };
    assert_eq!(
        serde_json::to_value(&results).unwrap(),
        serde_json::json!({
            "twitch": {"ok": true},
            "youtube": {"ok": false, "error": {"kind": "not_signed_in", "message": "not signed in to YouTube"}},
        })
    );
    let back: PushResults = serde_json::from_value(serde_json::to_value(&results).unwrap()).unwrap();
    assert_eq!(back, results);
}

#[test]
fn a_query_is_one_short_line() {
    assert_eq!(check_query("  fort ").unwrap(), "fort");
    assert_eq!(field_of(check_query(" ").unwrap_err()).0, "q");
    assert_eq!(field_of(check_query(&"a".repeat(101)).unwrap_err()).0, "q");
}

/// A desk whose account actors are gone (every platform answers `unavailable`), loaded from a
/// state file whose last push found no live YouTube broadcast.
fn desk_after_no_broadcast() -> StreamInfoDesk {
    use crate::accounts::twitch_account::TwitchAccountHandle;
    use crate::accounts::youtube_account::YouTubeAccountHandle;
    use crate::accounts::AccountsCell;
    let bus = crate::events::EventBus::new();
    let cell = AccountsCell::new(bus.user("u"));
    // The actors' sides are dropped: a call answers at once that the account is unavailable.
    let (twitch, _) = TwitchAccountHandle::channel(cell.clone());
    let (youtube, _) = YouTubeAccountHandle::channel(cell);
    let file = crate::state_file::StateFile::in_memory();
    let stored = serde_json::json!({
        "version": 1,
        "info": {"title": "Saved", "twitch_category_id": null, "twitch_category_name": null, "youtube_description": null},
        "saved_at": "2025-01-01T00:00:00Z",
        "last_push": {"at": "2025-01-01T00:00:01Z", "trigger": "start", "results": {
            "twitch": {"ok": true},
            "youtube": {"ok": false, "error": {"kind": "no_broadcast", "message": "none live"}},
        }},
    });
    file.set("stream_info", Some(&stored.to_string())).unwrap();
    StreamInfoDesk::load(file, bus.user("u"), twitch, youtube)
}

fn broadcast(id: &str) -> crate::accounts::youtube_api::Broadcast {
    crate::accounts::youtube_api::Broadcast {
        id: id.into(),
        title: "Live".into(),
        description: String::new(),
        scheduled_start_time: Some("2025-01-01T00:00:00Z".into()),
        scheduled_end_time: None,
        live_chat_id: Some("chat".into()),
    }
}

#[tokio::test]
async fn a_broadcast_found_live_gets_the_info_only_after_no_broadcast_and_once_per_broadcast_and_save() {
    let desk = desk_after_no_broadcast();
    let before = desk.view().last_push.unwrap();
    let report = desk.push_to_broadcast(broadcast("b1")).await.expect("sent: the last push found none live");
    // The attempt's own result (the account is gone here); the rest of the report stands.
    assert_eq!(report.results.youtube.error.as_ref().map(|e| e.kind), Some(PushErrorKind::Unavailable));
    assert_eq!((report.trigger, &report.results.twitch), (PushTrigger::Start, &before.results.twitch));
    assert!(report.at > before.at);
    assert_eq!(desk.view().last_push, Some(report.clone()));
    assert!(!desk.view().pushing);
    // The latest result is no longer `no_broadcast`: nothing more is sent, to any broadcast.
    assert_eq!(desk.push_to_broadcast(broadcast("b2")).await, None);

    // Once per broadcast and save, even while the result stays `no_broadcast`.
    let desk = desk_after_no_broadcast();
    desk.set_no_broadcast_result();
    assert!(desk.push_to_broadcast(broadcast("b1")).await.is_some());
    desk.set_no_broadcast_result();
    assert_eq!(desk.push_to_broadcast(broadcast("b1")).await, None, "the same info to the same broadcast");
    assert!(desk.push_to_broadcast(broadcast("b2")).await.is_some(), "another broadcast");
    desk.set_no_broadcast_result();
    desk.save(&input("Saved again")).unwrap();
    assert!(desk.push_to_broadcast(broadcast("b2")).await.is_some(), "a newer save");
}
