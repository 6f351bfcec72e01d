//! The results: one [`Row`] per measured thing, rendered as the aligned table
//! printed at the end, as rows of the `--json` document and as the `--markdown`
//! table for BENCHMARKS.md, headed by the machine and the settings.

use serde_json::{Map, Value};

use super::notes::Machine;

/// Outcome of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Skipped,
    Failed,
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    pub users: u64,
    /// A phase name (`--only`) or `seed`.
    pub phase: &'static str,
    pub label: String,
    pub connections: Option<usize>,
    pub rps: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub errors: u64,
    /// Free text: wall time, start-up time, memory, or why skipped or failed.
    pub result: String,
    pub status: Status,
    /// Extra numbers for the JSON document.
    pub extra: Map<String, Value>,
}

impl Row {
    pub fn new(users: u64, phase: &'static str, label: impl Into<String>) -> Row {
        Row {
            users,
            phase,
            label: label.into(),
            connections: None,
            rps: None,
            p50_ms: None,
            p99_ms: None,
            errors: 0,
            result: String::new(),
            status: Status::Ok,
            extra: Map::new(),
        }
    }

    pub fn with_result(mut self, status: Status, result: impl Into<String>) -> Row {
        self.status = status;
        self.result = result.into();
        self
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("users".into(), self.users.into());
        m.insert("phase".into(), self.phase.into());
        m.insert("label".into(), self.label.clone().into());
        let status = match self.status {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        };
        m.insert("status".into(), status.into());
        let opt = |m: &mut Map<String, Value>, k: &str, v: Option<f64>| {
            if let Some(v) = v {
                m.insert(k.into(), v.into());
            }
        };
        if let Some(c) = self.connections {
            m.insert("connections".into(), c.into());
        }
        opt(&mut m, "rps", self.rps);
        opt(&mut m, "p50_ms", self.p50_ms);
        opt(&mut m, "p99_ms", self.p99_ms);
        if self.rps.is_some() {
            m.insert("errors".into(), self.errors.into());
        }
        m.extend(self.extra.clone());
        if !self.result.is_empty() {
            m.insert("result".into(), self.result.clone().into());
        }
        Value::Object(m)
    }

    fn cells(&self) -> Vec<String> {
        let num = |v: Option<f64>, f: fn(f64) -> String| v.map_or(String::new(), f);
        vec![
            if self.phase == "machine" { "machine".into() } else { thousands(self.users as f64) },
            self.label.clone(),
            self.connections.map_or(String::new(), |c| c.to_string()),
            num(self.rps, rate),
            num(self.p50_ms, |v| format!("{v:.3}")),
            num(self.p99_ms, |v| format!("{v:.3}")),
            if self.rps.is_some() { self.errors.to_string() } else { String::new() },
            cut(&self.result, 160),
        ]
    }
}

/// Notes on each 64-connection load row what share of the machine's HTTP floor (the
/// `machine` row, when measured) it reached, in its result and as `floor_ratio`.
pub fn relate_to_floor(rows: &mut [Row]) {
    let floor = rows.iter().find(|r| r.phase == "machine" && r.connections == Some(64) && r.status == Status::Ok);
    let Some(floor) = floor.and_then(|r| r.rps).filter(|v| *v > 0.0) else {
        return;
    };
    for row in rows.iter_mut().filter(|r| r.phase != "machine" && r.connections == Some(64)) {
        if let Some(rps) = row.rps {
            let ratio = rps / floor;
            row.extra.insert("floor_ratio".into(), ratio.into());
            let note = format!("{:.0}% of the HTTP floor", ratio * 100.0);
            row.result = if row.result.is_empty() { note } else { format!("{}; {note}", row.result) };
        }
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

const HEADERS: [&str; 8] = ["Users", "Phase", "Conns", "Req/s", "p50 ms", "p99 ms", "Errors", "Result"];

/// A request rate: `1,235` from 100 up, `12.3` below.
fn rate(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        thousands(v)
    }
}

/// `1234567.8` as `1,234,568`.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The plain-text table, columns padded; numbers right-aligned.
pub fn text_table(rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows.iter().map(Row::cells).collect();
    let mut width: Vec<usize> = HEADERS.iter().map(|h| h.len()).collect();
    for r in &cells {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in r.iter().zip(&width).enumerate() {
            let pad = w - c.chars().count();
            let right = matches!(i, 0 | 2..=6);
            let (l, rp) = if right { (pad, 0) } else { (0, pad) };
            s.push_str(&format!("{}{c}{}  ", " ".repeat(l), " ".repeat(rp)));
        }
        s.trim_end().to_string() + "\n"
    };
    let head: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    let mut out = line(&head);
    out.push_str(&line(&width.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}

/// The `--markdown` document: machine and settings, then the table.
pub fn markdown(machine: &Machine, settings: &[(String, String)], rows: &[Row]) -> String {
    let mut out = format!("Machine: {}.\n\n", machine.describe());
    for (k, v) in settings {
        out.push_str(&format!("- {k}: {v}\n"));
    }
    out.push('\n');
    out.push_str(&format!("| {} |\n", HEADERS.join(" | ")));
    let align: Vec<&str> = (0..HEADERS.len()).map(|i| if matches!(i, 0 | 2..=6) { "---:" } else { "---" }).collect();
    out.push_str(&format!("|{}|\n", align.join("|")));
    for r in rows {
        let cells: Vec<String> = r.cells().iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        let mut a = Row::new(10_000, "update-1", "user.update (Bitrix24)");
        a.connections = Some(1);
        a.rps = Some(1234.4);
        a.p50_ms = Some(0.5);
        a.p99_ms = Some(1.25);
        let b = Row::new(10_000, "memory", "peak RSS (VmHWM)").with_result(Status::Ok, "40.0 MiB");
        vec![a, b]
    }

    #[test]
    fn relates_64_connection_rows_to_the_floor() {
        let mut floor = Row::new(0, "machine", "HTTP floor (parse and answer)");
        (floor.connections, floor.rps) = (Some(64), Some(40_000.0));
        let mut u64c = Row::new(10_000, "update-64", "user.update (Bitrix24)");
        (u64c.connections, u64c.rps) = (Some(64), Some(10_000.0));
        let mut all = vec![floor.clone(), u64c.clone(), rows()[0].clone()];
        relate_to_floor(&mut all);
        assert_eq!(all[1].result, "25% of the HTTP floor");
        assert_eq!(all[1].extra["floor_ratio"].as_f64(), Some(0.25));
        assert!(all[0].result.is_empty() && all[2].result.is_empty(), "only other 64-connection rows");
        assert!(text_table(&all).lines().nth(2).unwrap().starts_with("machine"));
        // A failed floor relates nothing.
        let mut all = vec![floor.with_result(Status::Failed, "failed: x"), u64c];
        relate_to_floor(&mut all);
        assert!(all[1].result.is_empty() && all[1].extra.is_empty());
    }

    #[test]
    fn renders_table_json_and_markdown() {
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!((rate(1.14), rate(99.96), rate(1234.6)), ("1.1".into(), "100.0".into(), "1,235".into()));
        let t = text_table(&rows());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("10,000  user.update (Bitrix24)"), "{t}");
        assert!(lines[2].contains("1,234") && lines[2].contains("1.250"), "{t}");
        assert!(lines[3].ends_with("40.0 MiB"), "{t}");
        let j = rows()[0].to_json();
        assert_eq!((j["rps"].as_f64(), j["errors"].as_u64()), (Some(1234.4), Some(0)));
        assert!(rows()[1].to_json().get("errors").is_none());
        let m = Machine { nproc: 2, cpu: "CPU".into(), memory: "1.0 GiB".into(), kernel: "6.1".into() };
        let md = markdown(&m, &[("duration".into(), "10 s".into())], &rows());
        assert!(md.starts_with("Machine: nproc 2, CPU, 1.0 GiB memory, Linux 6.1."), "{md}");
        assert!(md.contains("| 10,000 | peak RSS (VmHWM) |"), "{md}");
    }
}
