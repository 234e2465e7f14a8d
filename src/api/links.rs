//! The base URL of every absolute link the emulator writes into a response: `Location`, `@odata.context`,
//! `@odata.nextLink`, the 401 challenge's authority, the discovery documents, and any link a new surface writes
//! (SCIM `meta.location`). It is the origin of the listener the request came in on, so a link always works for the
//! client that received it, as Graph answers every link on the host the client used
//! (docs/fidelity.md#emulator-surfaces, row E.14).
//!
//! Resolution, first match wins:
//! 1. the listener's configured public base URL (`server.public_base_url` for HTTP, `server.public_tls_base_url`
//!    for HTTPS), as is: how to name the emulator behind a reverse proxy;
//! 2. the listener's scheme and the authority the client used (HTTP/2 `:authority`, else `Host`), when that is a
//!    host name or an IP address (IPv6 in brackets) with an optional port;
//! 3. the listener's own address (`http://{server.listen}`, or the HTTPS listener's derived base).
//!
//! Design constraints: links are built here only. `server.rs` tags every request a listener receives with that
//! listener's [`ListenerBase`]; handlers take a [`BaseUrl`] and so cannot pick the other listener. A request without
//! a tag (the router served by something other than `server::Server`) counts as one of the HTTP listener. An
//! authority that fails the check is never echoed into a link, and is no reason to refuse the request.

use std::convert::Infallible;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Uri, header};

use crate::config::Config;
use crate::state::AppState;

/// How one listener names itself in links; `server.rs` adds it to every request that listener receives.
#[derive(Debug, Clone)]
pub struct ListenerBase {
    scheme: &'static str,
    /// The configured public base URL: every link starts with it.
    public: Option<Arc<str>>,
    /// The listener's own address as a base URL, for requests without a usable authority.
    own: Arc<str>,
}

impl ListenerBase {
    /// The plain-HTTP listener (`server.listen`, `server.public_base_url`).
    pub fn http(config: &Config) -> Self {
        Self::new("http", &config.server.public_base_url, config.public_base_url())
    }

    /// The HTTPS listener (`server.tls_listen`, `server.public_tls_base_url`).
    pub fn https(config: &Config) -> Self {
        let own = config.public_tls_base_url().unwrap_or_else(|| format!("https://{}", config.server.tls_listen));
        Self::new("https", &config.server.public_tls_base_url, own)
    }

    fn new(scheme: &'static str, configured: &str, own: String) -> Self {
        let configured = configured.trim_end_matches('/');
        Self { scheme, public: (!configured.is_empty()).then(|| configured.into()), own: own.into() }
    }

    fn base_url(&self, uri: &Uri, headers: &HeaderMap) -> BaseUrl {
        if let Some(public) = &self.public {
            return BaseUrl(public.to_string());
        }
        let authority = match uri.authority() {
            Some(a) => Some(a.as_str()),
            None => headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        };
        match authority.filter(|a| is_host_and_port(a)) {
            Some(a) => BaseUrl(format!("{}://{a}", self.scheme)),
            None => BaseUrl(self.own.to_string()),
        }
    }
}

/// The base URL links in this response start with: `scheme://host[:port]` or the configured public base URL,
/// without a trailing slash. Take it as an extractor; append paths with `format!("{base}/…")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// The base URL of a request (see the module docs); the middleware that has no extractors calls this.
    pub fn of(extensions: &Extensions, uri: &Uri, headers: &HeaderMap, config: &Config) -> Self {
        match extensions.get::<ListenerBase>() {
            Some(listener) => listener.base_url(uri, headers),
            None => ListenerBase::http(config).base_url(uri, headers),
        }
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions, &parts.uri, &parts.headers, &state.config))
    }
}

/// `host[:port]`: a host name, an IPv4 address or a bracketed IPv6 address, and an optional port 1–65535.
fn is_host_and_port(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.parse::<Ipv4Addr>().is_ok() || is_host_name(host),
    };
    host_ok && port.is_none_or(is_port)
}

/// Labels of 1–63 letters, digits, `-` (not first or last) and `_` (Docker service names use it), at most 253
/// characters; a last label of digits only would be a malformed IPv4 address (`10.0.0.999`), not a name.
fn is_host_name(host: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    host.len() <= 253
        && host.split('.').all(label_ok)
        && host.rsplit('.').next().is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
}

fn is_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn authorities_a_link_may_carry() {
        for ok in [
            "localhost",
            "localhost:8443",
            "entra:8080",
            "my_service:8080",
            "Entra.Example.COM",
            "a-b.example.com:1",
            "127.0.0.1:65535",
            "10.0.0.1",
            "[::1]",
            "[::1]:8443",
            "[2001:db8::7]:443",
            "xn--bcher-kva.example",
        ] {
            assert!(is_host_and_port(ok), "{ok}");
        }
        for bad in [
            "",
            ":8080",
            "entra:",
            "entra:0",
            "entra:65536",
            "entra:+80",
            "entra:80:80",
            "::1",
            "[::1",
            "[::1]x",
            "[not-v6]:80",
            "user@entra",
            "entra/x",
            "entra?x",
            "entra#x",
            "en tra",
            "entra\"",
            "-entra",
            "entra-",
            "a..b",
            "example.com.",
            "10.0.0.999",
            "evil.com\r\nx: y",
            "bücher.example",
        ] {
            assert!(!is_host_and_port(bad), "{bad:?}");
        }
        assert!(!is_host_and_port(&format!("{}.com", "a".repeat(64))));
        assert!(!is_host_and_port(&format!("{}com", "a.".repeat(127))));
    }

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    fn listener(configured: &str) -> ListenerBase {
        ListenerBase::new("https", configured, "https://127.0.0.1:8443".into())
    }

    #[test]
    fn configured_base_then_the_clients_authority_then_the_listeners_own() {
        let origin_form: Uri = "/v1.0/users".parse().unwrap();
        let configured = listener("https://entra.example/");
        assert_eq!(configured.base_url(&origin_form, &headers("other:1")).to_string(), "https://entra.example");
        let derived = listener("");
        assert_eq!(derived.base_url(&origin_form, &headers("entra:8443")).to_string(), "https://entra:8443");
        assert_eq!(derived.base_url(&origin_form, &headers("x y")).to_string(), "https://127.0.0.1:8443");
        assert_eq!(derived.base_url(&origin_form, &HeaderMap::new()).to_string(), "https://127.0.0.1:8443");
        // HTTP/2 (and absolute-form HTTP/1.1) carry the authority in the request target; it wins over Host.
        let absolute: Uri = "https://localhost:8443/v1.0/users".parse().unwrap();
        assert_eq!(derived.base_url(&absolute, &headers("entra:8443")).to_string(), "https://localhost:8443");
    }
}
