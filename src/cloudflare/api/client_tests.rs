//! The Cloudflare client against `fake_cloudflare`: CRUD, status forms, every fault, 404,
//! "Test connection", the request budget, and that the token never leaks.
//! Tests live in `mod cloudflare` so `cargo test ... cloudflare` selects them.

mod cloudflare {
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::cloudflare::api::{
        ClientConfig, CloudflareClient, CloudflareError, ConnectionProblem, CreateLiveInput, CreateOutput,
        LiveInputStatus,
    };
    use crate::secrets::Secret;
    use fake_cloudflare::{FakeCloudflare, FakeOptions, Fault, RouteKind, StatusForm};

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const TOKEN: &str = "cf-token-SUPERSECRET-0123456789";

    async fn fake() -> FakeCloudflare {
        FakeCloudflare::start(FakeOptions {
            account_id: ACCOUNT.into(),
            token: TOKEN.into(),
            ..FakeOptions::default()
        })
        .await
    }

    fn config(base: &str) -> ClientConfig {
        ClientConfig {
            api_base: base.into(),
            account_id: ACCOUNT.into(),
            token: Secret::new(TOKEN),
            timeout: Duration::from_secs(5),
            requests_per_5min: 1000,
        }
    }

    fn client(fake: &FakeCloudflare) -> CloudflareClient {
        CloudflareClient::new(config(&fake.base_url())).expect("valid config")
    }

    #[tokio::test]
    async fn live_inputs_and_outputs_round_trip() {
        let fake = fake().await;
        // A trailing slash on the base is tolerated.
        let cf = CloudflareClient::new(config(&format!("{}/", fake.base_url()))).expect("valid");

        let created =
            cf.create_live_input(&CreateLiveInput::named("streampai:user-123")).await.expect("create");
        assert_eq!(created.meta["name"], "streampai:user-123");
        assert_eq!(created.status, LiveInputStatus::Absent);
        let rtmps = created.rtmps.as_ref().expect("rtmps");
        assert_eq!(rtmps.url, "rtmps://live.cloudflare.com:443/live/");
        let snap = &fake.live_inputs()[0];
        assert_eq!(rtmps.stream_key.expose(), snap.rtmps_stream_key);
        let srt = created.srt.as_ref().expect("srt");
        assert_eq!(
            (srt.stream_id.as_str(), srt.passphrase.expose()),
            (created.uid.as_str(), snap.srt_passphrase.as_str())
        );

        let got = cf.get_live_input(&created.uid).await.expect("get");
        assert_eq!(got.uid, created.uid);
        let listed = cf.list_live_inputs().await.expect("list");
        assert_eq!(listed.iter().map(|i| i.uid.as_str()).collect::<Vec<_>>(), [created.uid.as_str()]);

        let output = cf
            .create_output(
                &created.uid,
                &CreateOutput {
                    url: "rtmp://a.rtmp.youtube.com/live2".into(),
                    stream_key: Secret::new("yt-stream-key"),
                    enabled: true,
                },
            )
            .await
            .expect("create output");
        assert!(output.enabled);
        assert_eq!(fake.outputs(&created.uid)[0].stream_key, "yt-stream-key");
        let outputs = cf.list_outputs(&created.uid).await.expect("list outputs");
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].stream_key.as_ref().map(Secret::expose), Some("yt-stream-key"));
        let disabled = cf.update_output(&created.uid, &output.uid, false).await.expect("disable");
        assert!(!disabled.enabled);

        cf.delete_output(&created.uid, &output.uid).await.expect("delete output");
        assert!(fake.outputs(&created.uid).is_empty());
        cf.delete_live_input(&created.uid).await.expect("delete");
        assert!(fake.live_inputs().is_empty());
        assert_eq!(cf.get_live_input(&created.uid).await.unwrap_err(), CloudflareError::NotFound);
        assert_eq!(cf.delete_output(&created.uid, "nope").await.unwrap_err(), CloudflareError::NotFound);
    }

    #[tokio::test]
    async fn status_is_read_in_object_and_string_forms() {
        let fake = fake().await;
        let cf = client(&fake);
        let uid = cf.create_live_input(&CreateLiveInput::default()).await.expect("create").uid;
        assert!(!cf.get_live_input(&uid).await.expect("get").status.is_receiving());

        fake.set_connected(&uid, true).expect("exists");
        let status = cf.get_live_input(&uid).await.expect("get").status;
        assert!(matches!(status, LiveInputStatus::Detailed { .. }), "{status:?}");
        assert!(status.is_receiving());

        fake.set_status_form(StatusForm::String);
        let status = cf.get_live_input(&uid).await.expect("get").status;
        assert_eq!(status, LiveInputStatus::State("connected".into()));
        assert!(status.is_receiving());

        fake.set_connected(&uid, false).expect("exists");
        let status = cf.get_live_input(&uid).await.expect("get").status;
        assert_eq!(status.state(), Some("client_disconnect"));
        assert!(!status.is_receiving());
        fake.set_status_form(StatusForm::Object);
        assert!(!cf.get_live_input(&uid).await.expect("get").status.is_receiving());
    }

    #[tokio::test]
    async fn every_fault_maps_to_its_error() {
        let fake = fake().await;
        let cf = CloudflareClient::new(ClientConfig {
            timeout: Duration::from_millis(300),
            ..config(&fake.base_url())
        })
        .expect("valid");

        fake.inject(Fault::Status(503));
        let e = cf.list_live_inputs().await.unwrap_err();
        assert_eq!(e, CloudflareError::Server { status: 503 });
        assert!(e.is_retryable());

        fake.inject(Fault::RateLimited { retry_after_secs: 7 });
        let e = cf.list_live_inputs().await.unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(matches!(e, CloudflareError::RateLimited { .. }) && e.is_retryable());

        fake.inject(Fault::Delay(Duration::from_secs(2)));
        let e = cf.list_live_inputs().await.unwrap_err();
        assert_eq!(e, CloudflareError::Timeout);
        assert!(e.is_retryable());

        fake.inject(Fault::MalformedJson);
        let e = cf.list_live_inputs().await.unwrap_err();
        assert!(matches!(e, CloudflareError::Decode(_)), "{e:?}");
        assert!(e.is_retryable());

        fake.inject(Fault::Unauthorized);
        let e = cf.list_live_inputs().await.unwrap_err();
        assert_eq!(e, CloudflareError::Unauthorized { codes: vec![10000] });
        assert_eq!(e.codes(), vec![10000]);
        assert!(!e.is_retryable());

        let uid = cf.create_live_input(&CreateLiveInput::default()).await.expect("create").uid;
        fake.inject_for(RouteKind::DeleteLiveInput, Fault::MalformedJson, 1);
        assert!(matches!(cf.delete_live_input(&uid).await, Err(CloudflareError::Decode(_))));

        let e = cf
            .create_output(
                &uid,
                &CreateOutput { url: "https://not-rtmp".into(), stream_key: Secret::new("k"), enabled: true },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, CloudflareError::Api { status: 400, .. }), "{e:?}");
        assert_eq!(e.codes(), vec![10005]);

        assert!(cf.list_live_inputs().await.is_ok(), "faults are used up");
    }

    #[tokio::test]
    async fn test_connection_tells_the_problems_apart() {
        let fake = fake().await;
        fake.add_token_without_stream("token-without-stream");
        assert_eq!(client(&fake).test_connection().await, Ok(()));

        let bad = ClientConfig { token: Secret::new("not-a-token"), ..config(&fake.base_url()) };
        let cf = CloudflareClient::new(bad).expect("valid");
        assert_eq!(cf.test_connection().await, Err(ConnectionProblem::BadToken));

        let other = ClientConfig { account_id: "f".repeat(32), ..config(&fake.base_url()) };
        let cf = CloudflareClient::new(other).expect("valid");
        assert_eq!(cf.test_connection().await, Err(ConnectionProblem::WrongAccount));

        let limited = ClientConfig { token: Secret::new("token-without-stream"), ..config(&fake.base_url()) };
        let cf = CloudflareClient::new(limited).expect("valid");
        assert_eq!(cf.test_connection().await, Err(ConnectionProblem::NoStreamPermission));

        let wrong_base = format!("{}/wrong/prefix", fake.root_url());
        let cf = CloudflareClient::new(config(&wrong_base)).expect("valid");
        assert!(matches!(cf.test_connection().await, Err(ConnectionProblem::Other(_))));

        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let cf =
            CloudflareClient::new(config(&format!("http://127.0.0.1:{closed}/client/v4"))).expect("valid");
        assert!(matches!(cf.test_connection().await, Err(ConnectionProblem::Unreachable(_))));
        assert!(matches!(cf.list_live_inputs().await, Err(CloudflareError::Unreachable(_))));
    }

    #[tokio::test]
    async fn the_budget_holds_back_requests_beyond_it() {
        let fake = fake().await;
        let cf = CloudflareClient::new(ClientConfig { requests_per_5min: 3, ..config(&fake.base_url()) })
            .expect("valid");
        let shared = cf.clone();
        for _ in 0..3 {
            shared.verify_token().await.expect("within budget");
        }
        let fourth = tokio::time::timeout(Duration::from_millis(300), cf.verify_token()).await;
        assert!(fourth.is_err(), "the 4th call must wait for the budget");
        assert_eq!(fake.request_count(), 3, "the 4th call never went out");
    }

    /// Collects what the client logs.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_token_and_keys_never_reach_errors_debug_or_logs() {
        let logs = Capture::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || sink.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let fake = fake().await;
        let cf = CloudflareClient::new(ClientConfig {
            timeout: Duration::from_millis(300),
            ..config(&fake.base_url())
        })
        .expect("valid");
        let input = cf.create_live_input(&CreateLiveInput::named("x")).await.expect("create");
        let key = input.rtmps.as_ref().expect("rtmps").stream_key.expose().to_string();
        let mut seen = vec![format!("{cf:?}"), format!("{input:?}")];
        for fault in [
            Fault::Status(500),
            Fault::RateLimited { retry_after_secs: 1 },
            Fault::Delay(Duration::from_secs(1)),
            Fault::MalformedJson,
            Fault::Unauthorized,
        ] {
            fake.inject(fault);
            let e = cf.get_live_input(&input.uid).await.unwrap_err();
            seen.push(format!("{e} {e:?}"));
        }
        let e = cf.get_live_input("missing").await.unwrap_err();
        seen.push(format!("{e} {e:?}"));
        let bad = CloudflareClient::new(ClientConfig {
            token: Secret::new("wrong-SUPERSECRET"),
            ..config(&fake.base_url())
        })
        .expect("valid");
        let e = bad.list_live_inputs().await.unwrap_err();
        seen.push(format!("{e} {e:?}"));
        let problem = bad.test_connection().await.unwrap_err();
        seen.push(format!("{problem} {problem:?}"));

        let logged = String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).to_string();
        assert!(logged.contains("cloudflare request"), "requests are logged: {logged}");
        seen.push(logged);
        for text in &seen {
            assert!(!text.contains("SUPERSECRET"), "token leaked: {text}");
            assert!(!text.contains(&key), "stream key leaked: {text}");
        }
    }
}
