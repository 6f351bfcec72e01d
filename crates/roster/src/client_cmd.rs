//! Idiomatic client commands: `roster call METHOD` (any Bitrix24 method), `roster zabbix
//! call METHOD` (any Zabbix method, after version detection and login), and `roster user
//! get|find|create|update` with readable flags instead of JSON, and `roster completions`.
//! All go through `roster_client`; API errors exit non-zero with the error on stderr.

use clap::{Args, Subcommand};
use clap_complete::Shell;
use roster_client::{Call, Map, Zabbix, ZabbixAuth};
use serde_json::Value;

use crate::bitrix_cmd::send;
use crate::conn::{json_arg, json_object_arg, parse_bool, stdout, BitrixConn, NetArgs, OutArgs};

/// `roster call METHOD --url URL [--params JSON]`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Method name, e.g. user.get, department.get, batch.
    pub method: String,
    /// Parameters: JSON, single-quoted JSON or a .json file.
    #[arg(long, default_value = "{}")]
    pub params: String,
    #[command(flatten)]
    pub conn: BitrixConn,
    #[command(flatten)]
    pub out: OutArgs,
}

pub async fn call(a: CallArgs) -> anyhow::Result<()> {
    let call = Call::new(&a.method, json_object_arg("--params", &a.params)?);
    send(&call, &a.conn, &a.out).await
}

#[derive(Debug, Subcommand)]
pub enum ZabbixCommand {
    /// Call any Zabbix API method and print the JSON-RPC answer.
    Call(ZabbixCallArgs),
}

#[derive(Debug, Args)]
pub struct ZabbixCallArgs {
    /// Method name, e.g. user.get, apiinfo.version.
    pub method: String,
    /// Zabbix URL; api_jsonrpc.php is appended when missing, no scheme means http.
    #[arg(long, env = "ROSTER_ZABBIX_URL")]
    pub url: String,
    /// Parameters: a JSON object or array (single-quoted JSON and .json files work too).
    #[arg(long, default_value = "{}")]
    pub params: String,
    /// Log in with this user name (with --password).
    #[arg(long, requires = "password", conflicts_with = "token")]
    pub user: Option<String>,
    #[arg(long, env = "ROSTER_ZABBIX_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// API token (Zabbix 5.4+), used as is.
    #[arg(long, env = "ROSTER_ZABBIX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

pub async fn zabbix(cmd: ZabbixCommand) -> anyhow::Result<()> {
    let ZabbixCommand::Call(a) = cmd;
    let params = json_arg("--params", &a.params)?;
    let auth = match (a.user, a.password, a.token) {
        (Some(username), Some(password), _) => ZabbixAuth::Password { username, password },
        (None, _, Some(token)) => ZabbixAuth::Token(token),
        _ => ZabbixAuth::None,
    };
    let z = Zabbix::connect(&a.url, auth, a.net.options()?).await?;
    let request = z.request(&a.method, params.clone());
    a.out.request(z.url().as_str(), &request)?;
    if a.out.debug {
        eprintln!(
            "   (Zabbix {}, auth {})",
            z.version(),
            if z.uses_bearer() { "Bearer header" } else { "in the body" }
        );
    }
    if a.out.test {
        return z.logout().await.map_err(Into::into);
    }
    let reply = z.send_request(&request).await?;
    a.out.reply(&reply)?;
    let failed = roster_client::ApiError::from_zabbix(&a.method, reply.status, &reply.body);
    z.logout().await?;
    match failed {
        Some(e) => Err(e.into()),
        None if !(200..300).contains(&reply.status) => {
            anyhow::bail!("{}: HTTP {}", a.method, reply.status)
        }
        None => Ok(()),
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Show one user.
    Get {
        #[arg(long)]
        id: i64,
        #[command(flatten)]
        conn: BitrixConn,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Find users (user.get with a filter; every page).
    Find {
        #[command(flatten)]
        who: UserFields,
        /// More filter conditions: JSON with Bitrix24 operators, e.g. {"%LAST_NAME": "Lee"}.
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        conn: BitrixConn,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a user (an invitation on a portal); prints the new ID.
    Create {
        #[command(flatten)]
        fields: UserFields,
        #[command(flatten)]
        conn: BitrixConn,
    },
    /// Change a user; only the given fields change.
    Update {
        #[arg(long)]
        id: i64,
        #[command(flatten)]
        fields: UserFields,
        #[command(flatten)]
        conn: BitrixConn,
    },
}

/// Readable user flags; each sets one Bitrix24 field.
#[derive(Debug, Clone, Args)]
pub struct UserFields {
    /// NAME.
    #[arg(long)]
    pub name: Option<String>,
    /// LAST_NAME.
    #[arg(long)]
    pub last_name: Option<String>,
    /// SECOND_NAME.
    #[arg(long)]
    pub second_name: Option<String>,
    /// EMAIL.
    #[arg(long)]
    pub email: Option<String>,
    /// WORK_POSITION.
    #[arg(long)]
    pub position: Option<String>,
    /// PERSONAL_MOBILE.
    #[arg(long)]
    pub mobile: Option<String>,
    /// UF_DEPARTMENT: department IDs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub department: Vec<i64>,
    /// ACTIVE: true or false.
    #[arg(long, value_parser = parse_bool)]
    pub active: Option<bool>,
    /// Any other field, as CODE=VALUE (VALUE may be JSON); may be repeated.
    #[arg(long = "set", value_name = "CODE=VALUE")]
    pub set: Vec<String>,
}

impl UserFields {
    pub fn to_map(&self) -> anyhow::Result<Map> {
        let mut m = Map::new();
        let texts = [
            ("NAME", &self.name),
            ("LAST_NAME", &self.last_name),
            ("SECOND_NAME", &self.second_name),
            ("EMAIL", &self.email),
            ("WORK_POSITION", &self.position),
            ("PERSONAL_MOBILE", &self.mobile),
        ];
        for (k, v) in texts {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if !self.department.is_empty() {
            m.insert("UF_DEPARTMENT".into(), self.department.iter().copied().map(Value::from).collect());
        }
        if let Some(a) = self.active {
            m.insert("ACTIVE".into(), Value::String(if a { "Y" } else { "N" }.into()));
        }
        for kv in &self.set {
            let (k, v) = kv.split_once('=').ok_or_else(|| anyhow::anyhow!("--set {kv:?}: expected CODE=VALUE"))?;
            let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
            m.insert(k.trim().to_ascii_uppercase(), value);
        }
        Ok(m)
    }
}

pub async fn user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Get { id, conn, json } => {
            let user = conn.client()?.user_get(id).await?.ok_or_else(|| anyhow::anyhow!("no user with ID {id}"))?;
            print_users(&[user], json)
        }
        UserCommand::Find { who, filter, conn, json } => {
            let mut f = who.to_map()?;
            if let Some(extra) = filter {
                f.extend(json_object_arg("--filter", &extra)?);
            }
            print_users(&conn.client()?.user_find(f).await?, json)
        }
        UserCommand::Create { fields, conn } => {
            let id = conn.client()?.user_add(fields.to_map()?).await?;
            stdout(&format!("{id}\n"))
        }
        UserCommand::Update { id, fields, conn } => {
            let map = fields.to_map()?;
            anyhow::ensure!(!map.is_empty(), "nothing to change: give at least one field flag");
            conn.client()?.user_update(id, map).await?;
            stdout(&format!("updated user {id}\n"))
        }
    }
}

fn print_users(users: &[Value], json: bool) -> anyhow::Result<()> {
    let mut text = String::new();
    if json {
        for u in users {
            text.push_str(&format!("{u}\n"));
        }
        return stdout(&text);
    }
    let cell = |u: &Value, k: &str| match u.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","),
        Some(v) => v.to_string(),
    };
    text.push_str(&format!("{:<6} {:<6} {:<28} {:<32} {}\n", "ID", "ACTIVE", "NAME", "EMAIL", "DEPARTMENTS"));
    for u in users {
        let name = format!("{} {}", cell(u, "NAME"), cell(u, "LAST_NAME")).trim().to_string();
        let (id, active, email, deps) = (cell(u, "ID"), cell(u, "ACTIVE"), cell(u, "EMAIL"), cell(u, "UF_DEPARTMENT"));
        text.push_str(&format!("{id:<6} {active:<6} {name:<28} {email:<32} {deps}\n"));
    }
    stdout(&text)
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. Install e.g. with
    /// `roster completions bash > /etc/bash_completion.d/roster`.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script of the whole CLI (`cmd` is `Cli::command()`), generated
/// from the same clap definitions the binary parses.
pub fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "roster", &mut script);
    stdout(&String::from_utf8_lossy(&script))
}
