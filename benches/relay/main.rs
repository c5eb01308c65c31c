//! Local relay vs `ffmpeg -c copy -f tee`, side by side in one run (issue 4, item 6).
//!
//! One publisher (this bench, replaying 720p30 H.264 + AAC in real time), 4 outputs to
//! nginx-rtmp, `STREAMPAI_RELAY_BENCH_SECS` seconds (default 60). Each relay runs in its own
//! process: CPU seconds and peak RSS come from `wait4` (getrusage of the whole process). The
//! added latency is the time from a video frame leaving the publisher to a player on one of the
//! nginx outputs, minus the same path without a relay (publisher → nginx → player).
//!
//! `cargo bench --bench relay` (figures: docs/PERFORMANCE.md).

#[path = "../../tests/relay_support/mod.rs"]
#[allow(unused_macros)]
mod relay_support;

mod flv;
mod peer;
mod server;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relay_support::Nginx;
use tokio_util::sync::CancellationToken;

/// Outputs per relay: 4, or `STREAMPAI_RELAY_BENCH_OUTPUTS` (for profiling).
fn outputs() -> usize {
    std::env::var("STREAMPAI_RELAY_BENCH_OUTPUTS").ok().and_then(|s| s.parse().ok()).unwrap_or(4)
}

struct Usage {
    /// User and system CPU seconds (`ru_utime`, `ru_stime`).
    user_s: f64,
    sys_s: f64,
    /// Voluntary context switches (`ru_nvcsw`): how often the process blocked waiting for
    /// something, about once per wake-up.
    wakeups: u64,
    peak_rss_kib: u64,
    /// System calls, when counted (`STREAMPAI_RELAY_BENCH_SYSCALLS=1`).
    syscalls: Option<Syscalls>,
}

impl Usage {
    fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }
}

/// System calls of one process, counted by `perf stat` on the kernel's syscall tracepoints.
#[derive(Debug, Default, Clone, Copy)]
struct Syscalls {
    total: u64,
    /// write, writev, sendto, sendmsg
    writes: u64,
    /// read, readv, recvfrom, recvmsg
    reads: u64,
    /// epoll_wait/epoll_pwait(2), poll/ppoll, select
    waits: u64,
}

const WRITE_CALLS: &[&str] = &["write", "writev", "sendto", "sendmsg"];
const READ_CALLS: &[&str] = &["read", "readv", "recvfrom", "recvmsg"];
const WAIT_CALLS: &[&str] =
    &["epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6"];

/// `perf stat` attached to a process (threads it starts later included), when
/// `STREAMPAI_RELAY_BENCH_SYSCALLS=1`. Off by default: enabling syscall tracepoints slows every
/// system call on the machine a little, so CPU figures of counted runs are not comparable with
/// uncounted ones (the ratio still is: both sides pay it).
#[cfg_attr(not(unix), allow(dead_code))]
struct SyscallCounter {
    perf: Child,
    out: PathBuf,
}

#[cfg_attr(not(unix), allow(dead_code))]
impl SyscallCounter {
    fn attach(pid: u32, dir: &Path) -> Option<SyscallCounter> {
        if std::env::var("STREAMPAI_RELAY_BENCH_SYSCALLS").map_or(true, |v| v != "1") {
            return None;
        }
        let out = dir.join(format!("perf-{pid}.csv"));
        let mut events = vec!["raw_syscalls:sys_enter".to_string()];
        for name in WRITE_CALLS.iter().chain(READ_CALLS).chain(WAIT_CALLS) {
            events.push(format!("syscalls:sys_enter_{name}"));
        }
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-o"])
            .arg(&out)
            .args(["-e", &events.join(","), "-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match perf {
            Ok(perf) => Some(SyscallCounter { perf, out }),
            Err(e) => {
                eprintln!("syscall counts unavailable (perf: {e})");
                None
            }
        }
    }

    /// Stop counting (the process has exited) and read the counts.
    fn finish(mut self) -> Option<Syscalls> {
        #[cfg(unix)]
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.perf.id() as libc::pid_t, libc::SIGINT);
        }
        let _ = self.perf.wait();
        let text = std::fs::read_to_string(&self.out).ok()?;
        let mut counts = Syscalls::default();
        let mut seen = false;
        for line in text.lines() {
            let mut fields = line.split(',');
            let (Some(count), Some(_unit), Some(event)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(n) = count.trim().parse::<u64>() else { continue };
            seen = true;
            let name = event.trim().strip_prefix("syscalls:sys_enter_").unwrap_or("");
            if event.trim() == "raw_syscalls:sys_enter" {
                counts.total += n;
            } else if WRITE_CALLS.contains(&name) {
                counts.writes += n;
            } else if READ_CALLS.contains(&name) {
                counts.reads += n;
            } else if WAIT_CALLS.contains(&name) {
                counts.waits += n;
            }
        }
        if !seen {
            eprintln!("syscall counts unavailable (perf wrote: {})", text.trim());
        }
        seen.then_some(counts)
    }
}

/// A child process whose peak RSS is sampled from `VmHWM` in `/proc/<pid>/status` from spawn
/// to exit (`ru_maxrss` would count the bench's own memory, which the child shares between fork
/// and exec); CPU time comes from `wait4`.
#[cfg(unix)]
struct Watched {
    pid: libc::pid_t,
    done: Arc<std::sync::atomic::AtomicBool>,
    sampler: std::thread::JoinHandle<u64>,
    syscalls: Option<SyscallCounter>,
}

#[cfg(unix)]
fn watch(child: Child, dir: &Path) -> Watched {
    let pid = child.id() as libc::pid_t;
    let syscalls = SyscallCounter::attach(child.id(), dir);
    std::mem::forget(child); // reaped by wait4 in `Watched::wait`
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0u64;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { break };
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak = peak.max(hwm.unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    Watched { pid, done, sampler, syscalls }
}

#[cfg(unix)]
impl Watched {
    /// Wait for the exit; CPU seconds and peak RSS.
    fn wait(self) -> Usage {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-parameter; pid is our own child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(self.pid, &mut status, 0, &mut ru) };
        assert_eq!(r, self.pid, "wait4 failed");
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            user_s: secs(ru.ru_utime),
            sys_s: secs(ru.ru_stime),
            wakeups: ru.ru_nvcsw as u64,
            peak_rss_kib: self.sampler.join().unwrap(),
            syscalls: self.syscalls.and_then(SyscallCounter::finish),
        }
    }
}

/// CPU time and peak RSS come from `wait4` and `/proc`: the bench measures on Linux only (it
/// still compiles for every target, so the Windows check covers it).
#[cfg(not(unix))]
struct Watched(Child);

#[cfg(not(unix))]
fn watch(child: Child, _dir: &Path) -> Watched {
    Watched(child)
}

#[cfg(not(unix))]
impl Watched {
    fn wait(mut self) -> Usage {
        let _ = self.0.wait();
        panic!("the relay bench measures processes with wait4 and /proc: run it on Linux");
    }
}

struct Run {
    usage: Usage,
    latencies: Vec<Duration>,
    /// Audio and video messages the publisher sent.
    messages: u64,
    buffers_peak: Option<u64>,
    dropped: Option<u64>,
    /// Write calls to each output's socket (the relay's own count).
    writes: Vec<u64>,
}

/// The source, looped by the publisher: as long as the run up to 30 s, so that a latency below
/// the loop length is never ambiguous (frames are matched by content).
fn encode(dir: &Path, secs: f64) -> PathBuf {
    let loop_secs = secs.clamp(5.0, 30.0).ceil().to_string();
    let path = dir.join("bench.flv");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", &loop_secs])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p"])
        .args(["-b:v", "4000k", "-maxrate", "4000k", "-bufsize", "4000k", "-g", "60", "-keyint_min", "60"])
        .args(["-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"])
        .arg(&path)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "encoding failed");
    path
}

/// An RTMP endpoint: address, application, stream name.
struct Endpoint<'a>(SocketAddr, &'a str, &'a str);

/// Play `watch` while publishing `flv` to `publish` for `secs`, then a little longer for the
/// tail to arrive; returns each video frame's latency and the number of messages published.
async fn measure(
    watch: Endpoint<'_>,
    publish: Endpoint<'_>,
    flv: &flv::Flv,
    secs: f64,
) -> (Vec<Duration>, u64) {
    let sent: peer::SendTimes = Arc::default();
    let stop = CancellationToken::new();
    let player = peer::Client::connect(watch.0, watch.1).await;
    let play = tokio::spawn(player.play(watch.2.to_string(), sent.clone(), stop.clone()));
    let publisher = peer::Client::connect(publish.0, publish.1).await;
    let messages = publisher.publish(publish.2, flv, secs, sent).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // let the last frames drain
    stop.cancel();
    (play.await.unwrap(), messages)
}

async fn run_direct(flv: &flv::Flv, secs: f64) -> Vec<Duration> {
    let nginx = Nginx::start_live(&["direct"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], nginx.port));
    measure(Endpoint(addr, "direct", "d"), Endpoint(addr, "direct", "d"), flv, secs).await.0
}

async fn run_relay(flv: &flv::Flv, secs: f64, dir: &Path) -> Run {
    let nginx = Nginx::start_live(&["o1", "o2", "o3", "o4"]);
    // This very binary, in its server role.
    let mut cmd = Command::new(std::env::current_exe().expect("the bench's own path"));
    cmd.env(server::ROLE_VAR, "server");
    cmd.args(["--key", "bench-key"]);
    // The relay's runtime: current-thread (1, default) or multi-thread like the engine's.
    let threads = std::env::var("STREAMPAI_RELAY_BENCH_THREADS").unwrap_or_else(|_| "1".into());
    cmd.args(["--threads", &threads]);
    for i in 1..=outputs() {
        cmd.arg("--output").arg(format!("o{i},{},k{i}", nginx.url(&format!("o{i}"))));
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("relay-bench-server");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stdin = child.stdin.take();
    let watched = watch(child, dir);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let last_stats = Arc::new(Mutex::new(String::new()));
    let stats = last_stats.clone();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("READY ") {
                let _ = ready_tx.send(addr.parse::<SocketAddr>().unwrap());
            } else if let Some(s) = line.strip_prefix("STATS ") {
                *stats.lock().unwrap() = s.to_string();
            }
        }
    });
    let addr = ready_rx.recv_timeout(Duration::from_secs(10)).expect("relay ready");
    let (latencies, messages) =
        measure(Endpoint(nginx.addr(), "o1", "k1"), Endpoint(addr, "live", "bench-key"), flv, secs).await;
    drop(stdin); // shut down
    let usage = tokio::task::spawn_blocking(move || watched.wait()).await.unwrap();
    reader.join().unwrap();
    let s: serde_json::Value = serde_json::from_str(&last_stats.lock().unwrap()).unwrap_or_default();
    let outputs = s["outputs"].as_array().cloned().unwrap_or_default();
    let dropped = Some(outputs.iter().filter_map(|x| x["dropped_frames"].as_u64()).sum());
    let writes = outputs.iter().filter_map(|x| x["writes"].as_u64()).collect();
    Run { usage, latencies, messages, buffers_peak: s["buffered_peak"].as_u64(), dropped, writes }
}

async fn run_ffmpeg(flv: &flv::Flv, secs: f64, dir: &Path) -> Run {
    let nginx = Nginx::start_live(&["f1", "f2", "f3", "f4"]);
    let port = relay_support::free_port();
    let tee = (1..=outputs())
        .map(|i| format!("[f=flv:onfail=ignore]{}/k{i}", nginx.url(&format!("f{i}"))))
        .collect::<Vec<_>>()
        .join("|");
    // STREAMPAI_RELAY_BENCH_FFMPEG_INPUT_FLAGS: extra input options (e.g. "-fflags nobuffer").
    let extra = std::env::var("STREAMPAI_RELAY_BENCH_FFMPEG_INPUT_FLAGS").unwrap_or_default();
    let child = Command::new("ffmpeg")
        .args(["-v", "error", "-listen", "1"])
        .args(extra.split_whitespace())
        .args(["-i", &format!("rtmp://127.0.0.1:{port}/live/bench-key")])
        .args(["-c", "copy", "-map", "0"])
        .args(
            std::env::var("STREAMPAI_RELAY_BENCH_FFMPEG_OUTPUT_FLAGS").unwrap_or_default().split_whitespace(),
        )
        .args(["-f", "tee", &tee])
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg");
    let watched = watch(child, dir);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let (latencies, messages) =
        measure(Endpoint(nginx.addr(), "f1", "k1"), Endpoint(addr, "live", "bench-key"), flv, secs).await;
    // ffmpeg ends on its own when the publisher leaves.
    let usage = tokio::task::spawn_blocking(move || watched.wait()).await.unwrap();
    Run { usage, latencies, messages, buffers_peak: None, dropped: None, writes: Vec::new() }
}

fn percentile(v: &[Duration], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[((ms.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::var(server::ROLE_VAR).is_ok_and(|r| r == "server") {
        if let Err(e) = server::main() {
            eprintln!("relay-bench-server: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if !relay_support::tools_available() {
        eprintln!(
            "SKIPPED: the relay bench needs ffmpeg and nginx with the RTMP module (scripts/relay-deps.sh)"
        );
        return;
    }
    let secs: f64 =
        std::env::var("STREAMPAI_RELAY_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60.0);
    let dir = tempfile::tempdir().unwrap();
    let flv = flv::read(&encode(dir.path(), secs));
    let bytes: usize = flv.tags.iter().map(|t| t.data.len()).sum();
    let mbps = bytes as f64 * 8.0 / (flv.span_ms as f64 / 1000.0) / 1e6;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // STREAMPAI_RELAY_BENCH_ONLY=relay (or ffmpeg) skips the other relay, for profiling.
    let only = std::env::var("STREAMPAI_RELAY_BENCH_ONLY").unwrap_or_default();
    let (direct, relay, ffmpeg) = rt.block_on(async {
        let direct = run_direct(&flv, secs.min(15.0)).await;
        let relay = if only != "ffmpeg" { Some(run_relay(&flv, secs, dir.path()).await) } else { None };
        let ffmpeg = if only != "relay" { Some(run_ffmpeg(&flv, secs, dir.path()).await) } else { None };
        (direct, relay, ffmpeg)
    });
    let (relay, ffmpeg) = match (relay, ffmpeg) {
        (Some(r), Some(f)) => (r, f),
        (r, f) => {
            for r in [r, f].into_iter().flatten() {
                let med = percentile(&r.latencies, 0.5);
                let n = r.latencies.len() / 3;
                let thirds: Vec<String> = (0..3)
                    .map(|i| format!("{:.1}", percentile(&r.latencies[i * n..(i + 1) * n], 0.5)))
                    .collect();
                println!(
                    "cpu {:.2} s (user {:.2}, system {:.2}, {} wake-ups), peak RSS {} KiB, median latency {med:.2} ms (by thirds {}), {} frames",
                    r.usage.cpu_s(),
                    r.usage.user_s,
                    r.usage.sys_s,
                    r.usage.wakeups,
                    r.usage.peak_rss_kib,
                    thirds.join("/"),
                    r.latencies.len()
                );
            }
            return;
        }
    };
    let added = |r: &Run| percentile(&r.latencies, 0.5) - percentile(&direct, 0.5);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let n = outputs();
    println!("\nLocal relay vs ffmpeg tee: 1 publisher → {n} nginx-rtmp outputs, {secs:.0} s of 720p30 H.264+AAC at {mbps:.1} Mbit/s");
    println!("{:<32}{:>12}{:>12}{:>9}", "", "streampai", "ffmpeg tee", "ratio");
    let row = |name: &str, a: f64, b: f64| println!("{name:<32}{a:>12.2}{b:>12.2}{:>8.2}×", a / b);
    row("CPU seconds", relay.usage.cpu_s(), ffmpeg.usage.cpu_s());
    row("  user", relay.usage.user_s, ffmpeg.usage.user_s);
    row("  system (kernel)", relay.usage.sys_s, ffmpeg.usage.sys_s);
    row("wake-ups (voluntary switches)", relay.usage.wakeups as f64, ffmpeg.usage.wakeups as f64);
    row("peak RSS (MiB)", mib(relay.usage.peak_rss_kib), mib(ffmpeg.usage.peak_rss_kib));
    row("added latency, median (ms)", added(&relay), added(&ffmpeg));
    println!("latency publisher → output → player (ms): median, p95, frames, median per third of the run");
    for (name, l) in
        [("no relay (baseline)", &direct), ("streampai", &relay.latencies), ("ffmpeg tee", &ffmpeg.latencies)]
    {
        let n = l.len() / 3;
        let thirds: Vec<String> =
            (0..3).map(|i| format!("{:.1}", percentile(&l[i * n..(i + 1) * n], 0.5))).collect();
        println!(
            "  {name:<22}{:>10.2}{:>10.2}{:>7}   {}",
            percentile(l, 0.5),
            percentile(l, 0.95),
            l.len(),
            thirds.join(" / ")
        );
    }
    let peak = relay.buffers_peak.unwrap_or(0) as f64 / 1048576.0;
    println!(
        "relay buffers peak (GOP cache + {n} queues, upper bound): {peak:.2} MiB; dropped frames: {}",
        relay.dropped.unwrap_or(0)
    );
    let floor = relay.usage.sys_s / ffmpeg.usage.cpu_s();
    println!(
        "floor: the relay's system time alone is {floor:.2}× ffmpeg's whole CPU ({:.2} of {:.2} s); user {:.2}×",
        relay.usage.sys_s,
        ffmpeg.usage.cpu_s(),
        relay.usage.user_s / ffmpeg.usage.cpu_s()
    );
    let per_msg = |n: u64, m: u64| if m == 0 { f64::NAN } else { n as f64 / m as f64 };
    let writes: Vec<String> =
        relay.writes.iter().map(|w| format!("{w} ({:.2}/msg)", per_msg(*w, relay.messages))).collect();
    println!(
        "messages published: {} (relay) / {} (ffmpeg); relay write calls per output: {}",
        relay.messages,
        ffmpeg.messages,
        if writes.is_empty() { "n/a".to_string() } else { writes.join(", ") }
    );
    let wake_per_msg = |r: &Run| per_msg(r.usage.wakeups, r.messages);
    println!("wake-ups per published message: {:.2} vs {:.2}", wake_per_msg(&relay), wake_per_msg(&ffmpeg));
    if let (Some(a), Some(b)) = (relay.usage.syscalls, ffmpeg.usage.syscalls) {
        println!("system calls per published message (perf):        streampai  ffmpeg tee");
        for (name, x, y) in [
            ("all", a.total, b.total),
            ("writes (write/writev/sendto/sendmsg)", a.writes, b.writes),
            ("reads (read/readv/recvfrom/recvmsg)", a.reads, b.reads),
            ("waits (epoll_wait/poll/select)", a.waits, b.waits),
        ] {
            println!("  {name:<40}{:>9.2}{:>12.2}", per_msg(x, relay.messages), per_msg(y, ffmpeg.messages));
        }
    }
    println!(
        "\n| {} | {secs:.0} s, {mbps:.1} Mbit/s | {:.2} s vs {:.2} s ({:.2}×) | {:.1} vs {:.1} MiB ({:.2}×) | {peak:.2} MiB | {:.2} ms vs {:.0} ms |",
        chrono::Utc::now().format("%Y-%m-%d"),
        relay.usage.cpu_s(),
        ffmpeg.usage.cpu_s(),
        relay.usage.cpu_s() / ffmpeg.usage.cpu_s(),
        mib(relay.usage.peak_rss_kib),
        mib(ffmpeg.usage.peak_rss_kib),
        relay.usage.peak_rss_kib as f64 / ffmpeg.usage.peak_rss_kib as f64,
        added(&relay),
        added(&ffmpeg),
    );
    let writes_per_msg = if relay.writes.is_empty() {
        "n/a".to_string()
    } else {
        let total: u64 = relay.writes.iter().sum();
        format!("{:.2}", per_msg(total, relay.messages) / relay.writes.len() as f64)
    };
    println!(
        "| {} | {secs:.0} s, {n} outputs | {:.2} vs {:.2} ({:.2}×) | {:.2} vs {:.2} ({:.2}×) | {floor:.2}× | {:.2} vs {:.2} | {writes_per_msg} |",
        chrono::Utc::now().format("%Y-%m-%d"),
        relay.usage.user_s,
        ffmpeg.usage.user_s,
        relay.usage.user_s / ffmpeg.usage.user_s,
        relay.usage.sys_s,
        ffmpeg.usage.sys_s,
        relay.usage.sys_s / ffmpeg.usage.sys_s,
        wake_per_msg(&relay),
        wake_per_msg(&ffmpeg),
    );
    let _ = std::io::stdout().flush();
}
