//! What every client command shares: the connection flags (`--url`, `--token`, timeout,
//! attempts, proxy, rate, TLS), oint's value syntax for JSON arguments (JSON, single-quoted
//! JSON, or a path to a .json file), and output (stdout, `--out FILE`, `--adv-response`,
//! `--debug`). A closed stdout (broken pipe) ends output quietly; it is not an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use roster_client::{Backoff, Bitrix24, ClientOptions, Map, Proxy, Reply, Tls};
use serde_json::Value;

/// Network options of every client command.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Request timeout in seconds (each attempt).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Attempts in all; retried: 5xx, 429, QUERY_LIMIT_EXCEEDED, timeouts, transport errors.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub retries: u32,
    /// First retry delay in seconds; doubles on each retry, at most 30 s.
    #[arg(long, value_name = "SECS", default_value_t = 0.5)]
    pub backoff: f64,
    /// Proxy: http://[user:pass@]host:port, https://..., socks5://..., socks5h://..., or
    /// oint's {"Protocol","Host","Port","User","Password"} structure.
    #[arg(long, value_name = "PROXY", env = "ROSTER_PROXY")]
    pub proxy: Option<String>,
    /// Client-side rate limit: auto (50 burst then 2/s to remote Bitrix24 hosts, off for
    /// localhost), off, or BURST/PER_SECOND.
    #[arg(long, value_name = "RATE", default_value = "auto")]
    pub rate: String,
    /// Also trust this CA certificate (PEM); may be repeated.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Accept any TLS certificate (self-signed test servers only).
    #[arg(long)]
    pub insecure: bool,
}

impl NetArgs {
    pub fn options(&self) -> anyhow::Result<ClientOptions> {
        if !(self.timeout > 0.0 && self.timeout.is_finite()) {
            bail!("--timeout must be a positive number of seconds");
        }
        let mut tls = Tls { accept_invalid_certs: self.insecure, ..Tls::default() };
        for f in &self.ca_cert {
            tls.ca_certs_pem.push(std::fs::read(f).with_context(|| format!("reading --ca-cert {}", f.display()))?);
        }
        Ok(ClientOptions {
            timeout: Duration::from_secs_f64(self.timeout),
            attempts: self.retries,
            backoff: Backoff { base: Duration::from_secs_f64(self.backoff.max(0.0)), ..Backoff::default() },
            proxy: self.proxy.as_deref().map(proxy_arg).transpose()?,
            tls,
            rate: self.rate.parse()?,
            ..ClientOptions::default()
        })
    }
}

/// `--proxy`: a URL, or oint's structure in JSON or single-quoted JSON.
fn proxy_arg(s: &str) -> anyhow::Result<Proxy> {
    if s.trim_start().starts_with('{') {
        return Ok(Proxy::from_structure(&json_arg("--proxy", s)?)?);
    }
    Ok(Proxy::parse(s)?)
}

/// `--url` and `--token` of the Bitrix24 commands.
#[derive(Debug, Clone, Args)]
pub struct BitrixConn {
    /// Webhook URL (https://portal/rest/1/CODE/), or the portal address when --token is
    /// given; no scheme means https, an explicit http:// is kept.
    #[arg(long, env = "ROSTER_URL")]
    pub url: String,
    /// OAuth access token (application auth); sent as `auth` in the body.
    #[arg(long, env = "ROSTER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl BitrixConn {
    pub fn client(&self) -> anyhow::Result<Bitrix24> {
        Ok(Bitrix24::connect(&self.url, self.token.as_deref(), self.net.options()?)?)
    }
}

/// oint's output options.
#[derive(Debug, Clone, Args)]
pub struct OutArgs {
    /// Print the whole HTTP answer: {"code", "body", "headers"}.
    #[arg(long)]
    pub adv_response: bool,
    /// Print the request sent and the answer's status and attempts on stderr.
    #[arg(long)]
    pub debug: bool,
    /// Print the request that would be sent, and send nothing.
    #[arg(long)]
    pub test: bool,
    /// Write the output to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl OutArgs {
    /// Prints a reply's body (or the whole answer with --adv-response).
    pub fn reply(&self, reply: &Reply) -> anyhow::Result<()> {
        if self.debug {
            eprintln!("<- HTTP {} after {} attempt(s)", reply.status, reply.attempts);
        }
        let v = if self.adv_response { reply.advanced() } else { reply.body.clone() };
        self.json(&v)
    }

    pub fn json(&self, v: &Value) -> anyhow::Result<()> {
        let text = format!("{}\n", serde_json::to_string_pretty(v)?);
        match &self.out {
            Some(path) => std::fs::write(path, text).with_context(|| format!("writing --out {}", path.display())),
            None => stdout(&text),
        }
    }

    /// --debug / --test: the request, with the token and webhook secret masked.
    pub fn request(&self, url: &str, body: &Value) -> anyhow::Result<()> {
        let mut shown = body.clone();
        if let Some(auth) = shown.get_mut("auth") {
            *auth = Value::String("***".into());
        }
        if self.test {
            return self.json(&serde_json::json!({"method": "POST", "url": url, "body": shown}));
        }
        if self.debug {
            eprintln!("-> POST {url}\n{}", serde_json::to_string_pretty(&shown)?);
        }
        Ok(())
    }
}

/// Writes to stdout; a closed pipe (`| head`) is a normal end, not an error.
pub fn stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A JSON argument in oint's syntax: JSON, JSON with single-quoted strings (the docs'
/// `"{'EMAIL':'a@b.c'}"`), or a path to a file holding JSON.
pub fn json_arg(flag: &str, s: &str) -> anyhow::Result<Value> {
    let trimmed = s.trim();
    let from_file = !trimmed.starts_with(['{', '[']) && Path::new(trimmed).is_file();
    let text = if from_file {
        std::fs::read_to_string(trimmed).with_context(|| format!("{flag}: reading {trimmed}"))?
    } else {
        trimmed.to_string()
    };
    let text = text.trim_start_matches('\u{feff}');
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => serde_json::from_str(&single_to_double(text)).map_err(|_| {
            let what = if from_file { format!("the file {trimmed}") } else { "the value".to_string() };
            anyhow::anyhow!("{flag}: {what} is not JSON ({first}); give JSON, single-quoted JSON or a .json file")
        }),
    }
}

/// A JSON object argument (`--fields`, `--filter`, `--params`).
pub fn json_object_arg(flag: &str, s: &str) -> anyhow::Result<Map> {
    match json_arg(flag, s)? {
        Value::Object(m) => Ok(m),
        other => bail!("{flag}: expected a JSON object, got {other}"),
    }
}

/// Rewrites single-quoted strings as double-quoted ones; double-quoted strings pass as
/// they are. Inside a single-quoted string `"` is escaped and `\'` means a quote.
fn single_to_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'') => {
                quote = Some('\'');
                out.push('"');
            }
            (None, '"') => {
                quote = Some('"');
                out.push('"');
            }
            (Some(q), '\\') => match chars.next() {
                Some('\'') if q == '\'' => out.push('\''),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            (Some('\''), '"') => out.push_str("\\\""),
            (Some(q), c) if c == q => {
                quote = None;
                out.push('"');
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// oint's booleans: true/false, yes/no, Y/N, 1/0.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (true/false)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oint_value_syntax() {
        let seed = "{'EMAIL':'328bab6a@example.org','NAME':'Oleg','LAST_NAME':'Lama','UF_DEPARTMENT':'7'}";
        assert_eq!(json_arg("--fields", seed).unwrap()["UF_DEPARTMENT"], json!("7"));
        assert_eq!(json_arg("--f", r#"{"A": "it's"}"#).unwrap(), json!({"A": "it's"}));
        assert_eq!(
            json_arg("--f", r#"{'A': 'it\'s \"x\"', 'B': [1, 'two']}"#).unwrap(),
            json!({"A": "it's \"x\"", "B": [1, "two"]})
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        std::fs::write(&p, r#"{"NAME": "File"}"#).unwrap();
        assert_eq!(json_object_arg("--fields", p.to_str().unwrap()).unwrap()["NAME"], json!("File"));
        assert!(json_object_arg("--fields", "[1]").is_err());
        assert!(json_arg("--fields", "{nope").is_err());
    }
}
