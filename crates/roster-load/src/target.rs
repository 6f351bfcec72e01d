//! The `--url` target: parses it into a socket address, a `Host` header and a
//! request path, and enforces the loopback-only rule (127.0.0.0/8, ::1 or
//! `localhost`), so the tool can never be pointed at someone else's server.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use hyper::Uri;

/// Where the load goes: one loopback address, the authority for `Host`, and
/// the URL path (without query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Address every connection dials.
    pub addr: SocketAddr,
    /// `host[:port]` exactly as given in the URL, sent as the `Host` header.
    pub authority: String,
    /// Path part of the URL, `/` when empty.
    pub path: String,
}

/// Parses `url` and checks it names a loopback host over plain `http://`.
pub fn parse_target(url: &str) -> Result<Target> {
    let uri: Uri = url.parse().with_context(|| format!("invalid --url {url:?}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            bail!("--url scheme {other:?} is not supported: use plain http:// to a loopback server")
        }
        None => bail!("--url {url:?} must be absolute, like http://127.0.0.1:8080/api_jsonrpc.php"),
    }
    let authority = uri.authority().context("--url has no host")?;
    if authority.as_str().contains('@') {
        bail!("--url must not carry user info (user@host)");
    }
    if uri.query().is_some() {
        bail!("--url must not have a query string");
    }
    let ip = loopback_ip(authority.host())?;
    let port = authority.port_u16().unwrap_or(80);
    let path = match uri.path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    Ok(Target { addr: SocketAddr::new(ip, port), authority: authority.as_str().to_string(), path })
}

/// Maps a URL host to a loopback IP, or refuses it. `localhost` maps to
/// 127.0.0.1 without consulting the resolver; bracketed IPv6 is accepted.
pub fn loopback_ip(host: &str) -> Result<IpAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    match bare.parse::<IpAddr>() {
        Ok(ip) if is_loopback(ip) => Ok(ip),
        Ok(ip) => bail!(
            "refusing non-loopback target {ip}: roster-load only drives servers on \
             127.0.0.0/8, ::1 or localhost"
        ),
        Err(_) => bail!(
            "refusing host {host:?}: roster-load only drives servers on 127.0.0.0/8, \
             ::1 or localhost"
        ),
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_forms() {
        let t = parse_target("http://127.0.0.1:8080/rest/1/CODE/").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path, "/rest/1/CODE/");

        let t = parse_target("http://127.9.8.7/api_jsonrpc.php").unwrap();
        assert_eq!(t.addr, "127.9.8.7:80".parse().unwrap());

        let t = parse_target("http://[::1]:9000/api_jsonrpc.php").unwrap();
        assert_eq!(t.addr, "[::1]:9000".parse().unwrap());
        assert_eq!(t.authority, "[::1]:9000");

        let t = parse_target("http://LocalHost:8080").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path, "/");
    }

    #[test]
    fn refuses_non_loopback() {
        for url in [
            "http://10.0.0.1:8080/",
            "http://128.0.0.1/",
            "http://0.0.0.0:8080/",
            "http://[::2]:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://example.com/",
            "http://localhost.example.com/",
        ] {
            let err = parse_target(url).unwrap_err().to_string();
            assert!(err.contains("refusing"), "{url}: {err}");
        }
    }

    #[test]
    fn refuses_other_shapes() {
        assert!(parse_target("https://127.0.0.1/").is_err());
        assert!(parse_target("/rest/1/x/").is_err());
        assert!(parse_target("http://u:p@127.0.0.1/").is_err());
        assert!(parse_target("http://127.0.0.1/x?auth=1").is_err());
        assert!(parse_target("not a url").is_err());
    }
}
