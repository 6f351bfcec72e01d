//! `ServeConfig`: every setting of `roster serve`, each a flag with an `ROSTER_<FLAG>`
//! environment variable. Only the binary parses it; libraries receive it whole.

use std::net::SocketAddr;

use clap::Args;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://roster.db";

/// Where the directory is stored; shared by `serve` and the admin commands.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (default, created if missing).
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Password of the administrator (user 1, login Admin) on an empty database;
    /// generated and printed once when not given.
    #[arg(long, env = "ROSTER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Code of the administrator's full-scope webhook on an empty database;
    /// generated and printed once when not given.
    #[arg(long, env = "ROSTER_BOOTSTRAP_WEBHOOK", hide_env_values = true)]
    pub bootstrap_webhook: Option<String>,

    /// Base of absolute file URLs (e.g. https://roster.example.com); default: from the request's Host.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest request body in bytes; larger bodies get a Bitrix24-style JSON error.
    #[arg(long, env = "ROSTER_MAX_BODY", default_value_t = 16 * 1024 * 1024)]
    pub max_body: usize,

    /// Operating-time limit: handler seconds per method per webhook in 10 minutes.
    #[arg(long, env = "ROSTER_OPERATING_LIMIT", default_value_t = 480.0)]
    pub operating_limit: f64,

    /// Calls this short (seconds) or shorter are not counted in the operating time.
    #[arg(long, env = "ROSTER_OPERATING_MIN_CALL", default_value_t = 0.1)]
    pub operating_min_call: f64,

    /// Request-rate limit per webhook or app: off, standard (2/s, burst 50),
    /// enterprise (5/s, burst 250) or RATE/BURST.
    #[arg(long, env = "ROSTER_RATE_LIMIT", default_value = "off")]
    pub rate_limit: roster_bitrix24::ratelimit::RateSetting,

    /// Also serve HTTPS on this address (port 0 picks one); needs --tls-cert and
    /// --tls-key, or --tls-self-signed.
    #[arg(long, env = "ROSTER_TLS_LISTEN")]
    pub tls_listen: Option<SocketAddr>,

    /// PEM certificate chain for --tls-listen.
    #[arg(long, env = "ROSTER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key for --tls-listen.
    #[arg(long, env = "ROSTER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Make a self-signed certificate for localhost and 127.0.0.1 and print its path.
    #[arg(long, env = "ROSTER_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,

    /// Refuse REST calls over plain HTTP with INVALID_REQUEST "Https required".
    #[arg(long, env = "ROSTER_REQUIRE_HTTPS")]
    pub require_https: bool,

    /// Most open connections; further ones are closed at once.
    #[arg(long, env = "ROSTER_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Seconds a client has to send a request's headers (protects against slow clients).
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,

    /// Seconds a REST call may take, body included; then a JSON error.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout: u64,

    /// Largest uploaded file (photo, logo, file field) in bytes.
    #[arg(long, env = "ROSTER_MAX_FILE_SIZE", default_value_t = 10 * 1024 * 1024)]
    pub max_file_size: usize,

    /// Largest photo or logo in pixels (width x height); uploads must be real images.
    #[arg(long, env = "ROSTER_MAX_IMAGE_PIXELS", default_value_t = 50_000_000)]
    pub max_image_pixels: u64,

    /// Failed webhook or token checks allowed per client address per minute; then the
    /// address is refused (401) until the minute is over.
    #[arg(long, env = "ROSTER_AUTH_FAILURES", default_value_t = 20)]
    pub auth_failures: u32,

    /// Most commands in one batch call.
    #[arg(long, env = "ROSTER_MAX_BATCH", default_value_t = 50)]
    pub max_batch: usize,

    /// Deepest nesting of request parameters and filters (a[b][c]...).
    #[arg(long, env = "ROSTER_MAX_DEPTH", default_value_t = 32)]
    pub max_depth: usize,

    /// Language of labels (user.fields) when a call gives no LANG: en, ru or de.
    #[arg(long, env = "ROSTER_DEFAULT_LANGUAGE", default_value = "en")]
    pub default_language: String,

    /// Zabbix version the Zabbix face reports (apiinfo.version) and behaves as, X.Y.Z:
    /// 6.0.x as Zabbix 6.0; from 6.4 Bearer auth and current_passwd; from 7.0 its texts.
    #[arg(long, env = "ROSTER_ZABBIX_VERSION", default_value = "7.0.0")]
    pub zabbix_version: roster_zabbix::ApiVersion,
}

/// Parses `ServeConfig` alone, so its defaults come from the flag definitions above.
#[derive(Debug, clap::Parser)]
struct DefaultsOnly {
    #[command(flatten)]
    config: ServeConfig,
}

impl Default for ServeConfig {
    /// Every flag at its default (environment variables still apply, as for `serve`).
    fn default() -> Self {
        use clap::Parser;
        match DefaultsOnly::try_parse_from(["roster"]) {
            Ok(d) => d.config,
            Err(e) => panic!("ServeConfig defaults do not parse: {e}"),
        }
    }
}
