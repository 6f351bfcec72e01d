//! Turns a [`RunResult`] into the numbers users see: requests/s and
//! nearest-rank latency percentiles (p50/p90/p99/max, in ms), the one-line
//! human summary for stdout and the `--json` document.

use serde_json::{json, Value};

use crate::drive::RunResult;

/// Final numbers of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub method: &'static str,
    pub scenario: &'static str,
    pub face: &'static str,
    pub connections: usize,
    pub duration_s: f64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Batch scenario only.
    pub batch: Option<BatchNumbers>,
}

/// Extra numbers of the batch scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNumbers {
    /// `--total` when given (the run was sized by updates, not time).
    pub total: Option<u64>,
    pub updates: u64,
    pub updates_per_s: f64,
    pub wall_s: f64,
}

/// Names and settings that label a report.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    pub method: &'static str,
    pub scenario: &'static str,
    pub face: &'static str,
    pub connections: usize,
    pub batch: bool,
    pub total: Option<u64>,
}

/// Nearest-rank percentile `p` (0..=100) of ascending `sorted`; 0 if empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    let rank = (p * n as f64 / 100.0).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn per_second(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

impl Report {
    /// Computes the report; sorts `result.latencies_ns` in place.
    pub fn new(labels: Labels, result: &mut RunResult) -> Report {
        let lat = &mut result.latencies_ns;
        lat.sort_unstable();
        let secs = result.measured.as_secs_f64();
        let requests = result.ok + result.errors;
        Report {
            method: labels.method,
            scenario: labels.scenario,
            face: labels.face,
            connections: labels.connections,
            duration_s: secs,
            requests,
            ok: result.ok,
            errors: result.errors,
            rps: per_second(requests, secs),
            p50_ms: ms(percentile(lat, 50.0)),
            p90_ms: ms(percentile(lat, 90.0)),
            p99_ms: ms(percentile(lat, 99.0)),
            max_ms: ms(lat.last().copied().unwrap_or(0)),
            batch: labels.batch.then(|| BatchNumbers {
                total: labels.total,
                updates: result.updates,
                updates_per_s: per_second(result.updates, secs),
                wall_s: secs,
            }),
        }
    }

    /// The one-line summary printed on stdout.
    pub fn human_line(&self) -> String {
        let span = match self.batch.as_ref().and_then(|b| b.total) {
            Some(total) => format!("total={total}"),
            None => format!("d={:.1}s", self.duration_s),
        };
        let mut line = format!(
            "{} {} c={} {span}: {:.1} req/s  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  \
             max {:.3} ms  ok={} err={}",
            self.method,
            self.face,
            self.connections,
            self.rps,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.ok,
            self.errors,
        );
        if let Some(b) = &self.batch {
            line.push_str(&format!("  updates={} in {:.3} s = {:.1} updates/s", b.updates, b.wall_s, b.updates_per_s));
        }
        line
    }

    /// The `--json` document.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "scenario": self.scenario,
            "face": self.face,
            "connections": self.connections,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        });
        if let (Some(b), Value::Object(map)) = (&self.batch, &mut v) {
            map.insert("updates".into(), b.updates.into());
            map.insert("updates_per_s".into(), b.updates_per_s.into());
            map.insert("wall_s".into(), b.wall_s.into());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        let v = [10, 20, 30, 40];
        assert_eq!(percentile(&v, 50.0), 20);
        assert_eq!(percentile(&v, 51.0), 30);
        assert_eq!(percentile(&v, 99.0), 40);
    }

    fn labels(batch: bool, total: Option<u64>) -> Labels {
        Labels {
            method: if batch { "batch" } else { "user.update" },
            scenario: if batch { "batch" } else { "update" },
            face: "bitrix24",
            connections: 4,
            batch,
            total,
        }
    }

    #[test]
    fn report_math_and_line() {
        let mut r = RunResult {
            // 1..=1000 microseconds, shuffled order does not matter.
            latencies_ns: (1..=1000u64).rev().map(|us| us * 1000).collect(),
            ok: 998,
            errors: 2,
            updates: 998,
            measured: Duration::from_secs(2),
            error_samples: vec![],
        };
        let rep = Report::new(labels(false, None), &mut r);
        assert_eq!(rep.requests, 1000);
        assert_eq!(rep.rps, 500.0);
        assert_eq!(rep.p50_ms, 0.5);
        assert_eq!(rep.p90_ms, 0.9);
        assert_eq!(rep.p99_ms, 0.99);
        assert_eq!(rep.max_ms, 1.0);
        assert_eq!(
            rep.human_line(),
            "user.update bitrix24 c=4 d=2.0s: 500.0 req/s  p50 0.500 ms  p90 0.900 ms  \
             p99 0.990 ms  max 1.000 ms  ok=998 err=2"
        );
        let j = rep.to_json();
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys[0], "scenario");
        assert_eq!(keys.len(), 12);
        assert!(j.get("updates").is_none());
    }

    #[test]
    fn batch_report() {
        let mut r = RunResult {
            latencies_ns: vec![2_000_000; 20],
            ok: 20,
            updates: 1000,
            measured: Duration::from_millis(500),
            ..RunResult::default()
        };
        let rep = Report::new(labels(true, Some(1000)), &mut r);
        let b = rep.batch.clone().unwrap();
        assert_eq!(b.updates_per_s, 2000.0);
        assert_eq!(b.wall_s, 0.5);
        assert!(rep.human_line().starts_with("batch bitrix24 c=4 total=1000: 40.0 req/s"));
        assert!(rep.human_line().ends_with("updates=1000 in 0.500 s = 2000.0 updates/s"));
        let j = rep.to_json();
        assert_eq!(j["updates"], 1000);
        assert_eq!(j["wall_s"], 0.5);
        assert_eq!(j["updates_per_s"], 2000.0);
    }

    #[test]
    fn empty_run_is_all_zero() {
        let mut r = RunResult::default();
        let rep = Report::new(labels(false, None), &mut r);
        assert_eq!((rep.rps, rep.p99_ms, rep.max_ms), (0.0, 0.0, 0.0));
    }
}
