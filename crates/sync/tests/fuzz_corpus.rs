//! The fuzz corpus in CI: every file of `fuzz/corpus/decode` is replayed through the decoder's
//! oracle ([`check_frame`]: no panic, round trips hold), then a short, bounded, deterministic
//! mutation fuzz runs on the stable toolchain (`STREAMPAI_FUZZ_ITERS`, default 20,000). Deep
//! runs use `cargo fuzz` (see docs/SYNC-PROTOCOL.md, "Fuzzing").

use std::path::PathBuf;

use streampai_sync::protocol::{check_frame, decode_client, DEFAULT_MAX_MESSAGE_BYTES};

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn the_corpus_replays_cleanly() {
    let files = corpus();
    assert!(files.len() >= 20, "the corpus is in the repo: {} files", files.len());
    let mut accepted = 0;
    for (path, data) in &files {
        let r = std::panic::catch_unwind(|| check_frame(data, DEFAULT_MAX_MESSAGE_BYTES));
        assert!(r.is_ok(), "{} panics the decoder", path.display());
        accepted += decode_client(data, DEFAULT_MAX_MESSAGE_BYTES).is_ok() as usize;
    }
    // The seeds include valid client frames (so mutations start from real messages).
    assert!(accepted >= 10, "only {accepted} valid client frames in the corpus");
}

/// xorshift64*: deterministic, so a failure reproduces from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "-0",
    "1e999",
    "18446744073709551616",
    "-1",
    "0.5",
    "\"type\"",
    "\"hello\"",
    "\"command\"",
    "\"action\"",
    "\"metas\"",
    "\"ref\"",
    "\u{1F600}",
    "\u{0}",
];

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            2 if at < v.len() => {
                let n = rng.below(v.len() - at).min(16) + 1;
                v.drain(at..(at + n).min(v.len()));
            }
            3 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            4 if !other.is_empty() => {
                let s = rng.below(other.len());
                let e = s + rng.below(other.len() - s) + 1;
                v.splice(at..at, other[s..e].iter().copied());
            }
            5 => v.truncate(at),
            _ if at < v.len() => {
                let n = rng.below(64) + 1;
                let chunk: Vec<u8> = v[at..].iter().take(n).copied().collect();
                v.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    v
}

#[test]
fn bounded_mutation_fuzz_never_panics() {
    let iters: usize =
        std::env::var("STREAMPAI_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let seeds: Vec<Vec<u8>> = corpus().into_iter().map(|(_, d)| d).collect();
    let seed =
        std::env::var("STREAMPAI_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_5eed_u64);
    let mut rng = Rng(seed | 1);
    let mut accepted = 0usize;
    // A hook that stays quiet: failures are reported below with the input.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    for i in 0..iters {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        // Sometimes a frame near or over the limit.
        let max = if i % 97 == 0 { input.len().saturating_sub(1).max(1) } else { DEFAULT_MAX_MESSAGE_BYTES };
        if std::panic::catch_unwind(|| check_frame(&input, max)).is_err() {
            failure = Some((i, input));
            break;
        }
        accepted += decode_client(&input, max).is_ok() as usize;
    }
    std::panic::set_hook(prev);
    if let Some((i, input)) = failure {
        let out = std::env::temp_dir().join("streampai-sync-fuzz-crash.bin");
        let _ = std::fs::write(&out, &input);
        panic!(
            "iteration {i} (seed {seed}) panics the decoder; input saved to {} ({:?})",
            out.display(),
            String::from_utf8_lossy(&input)
        );
    }
    println!("bounded fuzz: {iters} inputs, {accepted} accepted as client frames");
}
