//! The stable-toolchain fuzz runner: drives one target of `roster_fuzz` for N seconds
//! with seeded pseudo-random inputs (fresh bytes, and mutations of `fuzz/corpus/<target>/`
//! plus built-in seeds), without libFuzzer or nightly. No coverage guidance, so it is
//! weaker than `cargo fuzz run`, but deterministic: a seed reproduces a run exactly.
//!
//! Usage: `cargo run --release --example run_stable -- <target|all> [seconds] [seed]`.
//! A panic saves the input to `fuzz/artifacts/<target>/stable-crash-<n>` and exits 1.

use std::panic;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// xorshift64*: small, fast and good enough to pick mutations.
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

/// Bytes that mean something to one of the parsers.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"[]",
    b"&",
    b"=",
    b"%",
    b"%5B",
    b"%FF",
    b"%00",
    b"+",
    b"{",
    b"}",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e999",
    b"\"jsonrpc\":\"2.0\"",
    b"\"method\":\"user.update\"",
    b"\"params\":",
    b"\"id\":1",
    b"\"auth\":",
    b"FILTER",
    b">=ID",
    b"!%NAME",
    b"UF_USR_",
    b"\xff",
    b"\x00",
    b"\\u0000",
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    b"==",
    b"/",
    b"\n",
];

const SEEDS: &[&[u8]] = &[
    b"a[b][]=1&a[]=2&c=%20x",
    b"{\"FILTER\":{\">=ID\":1,\"%NAME\":\"x\"},\"order\":{\"ID\":\"DESC\"},\"select\":[\"*\"]}",
    b"{\"jsonrpc\":\"2.0\",\"method\":\"user.update\",\"params\":{\"userid\":\"1\",\"name\":\"x\"},\"id\":1}",
    b"[{\"jsonrpc\":\"2.0\",\"method\":\"user.create\",\"params\":[{\"username\":\"u\",\"usrgrps\":[{\"usrgrpid\":7}]}],\"id\":\"a\"}]",
    b"\x24a.png\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\x06\0\0\0",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => input.insert(at, rng.next() as u8),
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
            3 if !input.is_empty() => {
                let end = (at + rng.below(16)).min(input.len());
                input.drain(at.min(end)..end);
            }
            4 if !input.is_empty() => {
                // Repeat a slice: deep nesting and long runs come from here.
                let start = rng.below(input.len());
                let end = (start + 1 + rng.below(8)).min(input.len());
                let piece = input[start..end].to_vec();
                for _ in 0..rng.below(64) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            _ => input.truncate(at),
        }
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.to_vec()).collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten().take(5000) {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                inputs.push(bytes);
            }
        }
    }
    inputs
}

/// Runs `target` for `secs`; the number of inputs tried, or the crashing input.
fn drive(target: &str, secs: u64, seed: u64) -> Result<u64, Vec<u8>> {
    let pool = corpus(target);
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        for _ in 0..256 {
            let input = if rng.below(4) == 0 {
                (0..rng.below(512)).map(|_| rng.next() as u8).collect()
            } else {
                let mut v = pool[rng.below(pool.len())].clone();
                mutate(&mut rng, &mut v);
                v
            };
            let outcome = panic::catch_unwind(|| roster_fuzz::run(target, &input));
            runs += 1;
            if outcome.is_err() {
                return Err(input);
            }
        }
    }
    Ok(runs)
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2024);
    let targets: Vec<&str> = if which == "all" { roster_fuzz::TARGETS.to_vec() } else { vec![which] };
    for target in targets {
        if !roster_fuzz::TARGETS.contains(&target) {
            eprintln!("unknown target {target}; known: {:?}", roster_fuzz::TARGETS);
            return std::process::ExitCode::from(2);
        }
        let started = Instant::now();
        match drive(target, secs, seed) {
            Ok(runs) => {
                println!("{target}: {runs} inputs in {:.0} s (seed {seed}), no crash", started.elapsed().as_secs_f64())
            }
            Err(input) => {
                let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts").join(target);
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("stable-crash-{seed}"));
                let _ = std::fs::write(&path, &input);
                eprintln!("{target}: CRASH (seed {seed}); input saved to {}", path.display());
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
