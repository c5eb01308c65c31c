//! The push client against every RTMP server implementation this machine can run (issue 11):
//! nginx-rtmp, FFmpeg's own server (`ffmpeg -listen 1`), the app's own ingest (a second relay
//! as the platform, passing the stream on to nginx), and pyrtmp (pure Python, PyPI), each over
//! plain RTMP and over RTMPS through a TLS terminator (nginx `stream` with ssl). One publisher,
//! one relay with all eight outputs at once; every platform must record the whole stream
//! (`ffprobe -count_frames`). Needs `scripts/relay-deps.sh` (skips with a message otherwise).

mod relay_support;

use std::path::Path;
use std::time::Duration;

use relay_support::platforms::{pyrtmp_python, FfmpegServer, PyRtmp, TlsProxy};
use relay_support::{media, probe, publish, wait_until, Nginx, Probe};
use streampai::relay::{OutputState, Relay, RelayConfig, RelayHandle};
use streampai::secrets::Secret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

async fn start_relay(key: &str, ca: Option<&Path>) -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = RelayConfig::new(Secret::new(key));
    cfg.retry_initial = Duration::from_millis(200);
    cfg.retry_max = Duration::from_millis(800);
    cfg.extra_ca_file = ca.map(Path::to_path_buf);
    Relay::start(cfg, listener, CancellationToken::new()).await.expect("relay starts")
}

/// Wait until the publisher is gone and the named outputs have written everything, then
/// remove them (a clean unpublish, which completes the recordings). Returns failures.
async fn drain_and_remove(relay: &RelayHandle, names: &[&str]) -> Vec<String> {
    let flushed = wait_until(Duration::from_secs(20), || {
        !relay.ingest().publishing
            && relay
                .outputs()
                .iter()
                .filter(|o| names.contains(&o.name.as_str()))
                .all(|o| o.queued_bytes == 0)
    })
    .await;
    let mut failures = Vec::new();
    if !flushed {
        failures.push(format!("outputs did not flush: {:?}", relay.outputs()));
    }
    for o in relay.outputs().into_iter().filter(|o| names.contains(&o.name.as_str())) {
        if o.reconnects != 0 || o.dropped_frames != 0 || o.state != OutputState::WaitingForSource {
            failures.push(format!("{}: {o:?}", o.name));
        }
    }
    for n in names {
        relay.remove_output(n).await.expect("remove output");
    }
    failures
}

/// Wait (bounded) until a recording probes complete; the last probe.
async fn wait_file(path: &Path, src: &Probe) -> Option<Probe> {
    let mut last = None;
    wait_until(Duration::from_secs(15), || {
        last = probe(path);
        last.as_ref().is_some_and(|p| {
            p.video_frames.abs_diff(src.video_frames) <= 2 && p.audio_frames.abs_diff(src.audio_frames) <= 2
        })
    })
    .await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_client_delivers_the_whole_stream_to_every_rtmp_server() {
    require_tools!();
    assert!(pyrtmp_python().is_some(), "pyrtmp is not installed: run scripts/relay-deps.sh");
    let src = &media().probe;
    let certs = tempfile::tempdir().unwrap();
    let tls = relay_support::self_signed(certs.path());

    // The platforms.
    let nginx = Nginx::start_on(relay_support::free_port(), &["plain", "tls", "own", "own_tls"], Some(&tls));
    let mut ffmpeg_plain = FfmpegServer::start("app", "key-ffmpeg");
    let mut ffmpeg_tls = FfmpegServer::start("app", "key-ffmpeg-tls");
    let ffmpeg_tls_front = TlsProxy::start(ffmpeg_tls.port, &tls);
    let own = start_relay("key-own", None).await;
    own.add_output("next", &nginx.url("own"), Secret::new("rec")).await.unwrap();
    let own_tls = start_relay("key-own-tls", None).await;
    own_tls.add_output("next", &nginx.url("own_tls"), Secret::new("rec")).await.unwrap();
    let own_tls_front = TlsProxy::start(own_tls.local_addr().port(), &tls);
    let py = PyRtmp::start();
    let py_front = TlsProxy::start(py.port, &tls);

    let relay = start_relay("obs-key-interop", Some(&tls.cert)).await;
    let nginx_tls = format!("rtmps://127.0.0.1:{}/tls", nginx.tls_port.unwrap());
    let outputs: [(&str, String, &str); 8] = [
        ("nginx", nginx.url("plain"), "key-nginx"),
        ("nginx-tls", nginx_tls, "key-nginx-tls"),
        ("ffmpeg", ffmpeg_plain.url("app"), "key-ffmpeg"),
        ("ffmpeg-tls", ffmpeg_tls_front.url("app"), "key-ffmpeg-tls"),
        ("own", format!("rtmp://{}/live", own.local_addr()), "key-own"),
        ("own-tls", own_tls_front.url("live"), "key-own-tls"),
        ("pyrtmp", py.url("app"), "key-py"),
        ("pyrtmp-tls", py_front.url("app"), "key-py-tls"),
    ];
    for (name, url, key) in &outputs {
        relay.add_output(name, url, Secret::new(*key)).await.unwrap();
    }

    let mut publisher = publish(relay.local_addr(), "live", "obs-key-interop", None);
    let limit = Duration::from_secs(relay_support::MEDIA_SECS as u64 + 30);
    let status = tokio::time::timeout(limit, publisher.wait()).await.expect("publisher finished").unwrap();
    assert!(status.success(), "ffmpeg published");

    let names: Vec<&str> = outputs.iter().map(|o| o.0).collect();
    let mut failures = drain_and_remove(&relay, &names).await;
    failures.extend(drain_and_remove(&own, &["next"]).await);
    failures.extend(drain_and_remove(&own_tls, &["next"]).await);

    // What each platform recorded.
    let mut check = |what: &str, rec: Option<Probe>| {
        let complete = rec.as_ref().is_some_and(|r| {
            (r.video_codec.as_str(), r.audio_codec.as_str()) == ("h264", "aac")
                && r.video_frames.abs_diff(src.video_frames) <= 2
                && r.audio_frames.abs_diff(src.audio_frames) <= 2
                && (r.duration - src.duration).abs() <= 0.067
        });
        eprintln!("{what}: {rec:?}");
        if !complete {
            failures.push(format!("{what}: recorded {rec:?}, source {src:?}"));
        }
    };
    for (what, app) in [("nginx", "plain"), ("nginx-tls", "tls"), ("own", "own"), ("own-tls", "own_tls")] {
        let file = nginx.recordings(app).last().cloned();
        let rec = match file {
            Some(f) => wait_file(&f, src).await,
            None => None,
        };
        check(what, rec);
    }
    for (what, server) in [("ffmpeg", &mut ffmpeg_plain), ("ffmpeg-tls", &mut ffmpeg_tls)] {
        let (file, stderr) = server.finish(Duration::from_secs(10));
        let rec = wait_file(&file, src).await;
        if rec.is_none() {
            eprintln!("{what}: ffmpeg said: {stderr}");
        }
        check(what, rec);
    }
    for (what, key) in [("pyrtmp", "key-py"), ("pyrtmp-tls", "key-py-tls")] {
        check(what, wait_file(&py.recording(key), src).await);
    }
    relay.shutdown().await;
    own.shutdown().await;
    own_tls.shutdown().await;
    assert!(failures.is_empty(), "interop failures:\n{}", failures.join("\n"));
}
