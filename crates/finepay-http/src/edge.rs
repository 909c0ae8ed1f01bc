//! What the platform believes of a request's origin (SPEC §10): behind a reverse proxy the client's
//! address, scheme and host come from `X-Forwarded-For`, `X-Forwarded-Proto` and
//! `X-Forwarded-Host` — but only when the connection comes from a proxy listed in
//! `--trusted-proxies`. Anyone else could write those headers themselves.

use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use std::net::IpAddr;

/// The reverse proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR block (e.g. 10.0.0.0/8, 127.0.0.1, ::1)")]
pub struct BadProxy(String);

impl TrustedProxies {
    /// `10.0.0.0/8,127.0.0.1` — addresses or CIDR blocks, comma separated.
    pub fn parse(list: &str) -> Result<TrustedProxies, BadProxy> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(s.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn none() -> TrustedProxies {
        TrustedProxies(Vec::new())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, or — when the peer is a trusted proxy — the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.trusts(*ip))
                .unwrap_or(peer),
        )
    }

    /// Whether the forwarding headers of a request from `peer` are believed.
    pub fn forwarded_by_trusted(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|p| self.trusts(p))
    }

    /// `scheme://host` the browser used: from `X-Forwarded-Proto`/`-Host` behind a trusted proxy,
    /// else `http://` and the `Host` header.
    pub fn base_url(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let trusted = self.forwarded_by_trusted(peer);
        let host = trusted
            .then(|| text("x-forwarded-host"))
            .flatten()
            .or_else(|| text(header::HOST.as_str()))
            .unwrap_or("localhost");
        let scheme = match trusted.then(|| text("x-forwarded-proto")).flatten() {
            Some(p) if p.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        format!("{scheme}://{host}")
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_str(xff).unwrap_or(HeaderValue::from_static("")),
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("pay.example.cn"),
        );
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.5:8080"));
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let none = TrustedProxies::none();
        let h = headers("203.0.113.9");
        assert_eq!(none.client_ip(ip("198.51.100.7"), &h), ip("198.51.100.7"));
        assert_eq!(
            none.base_url(ip("198.51.100.7"), &h),
            "http://10.0.0.5:8080"
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_the_address_the_browser_used() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap_or_default();
        // The client wrote a fake first hop; the proxy appended the real one.
        let h = headers("1.2.3.4, 203.0.113.9, 10.0.0.2");
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.0.0.1"), &h),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.base_url(ip("10.0.0.1"), &h),
            "https://pay.example.cn"
        );
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = TrustedProxies::parse("10.0.0.0/8,proxy.local")
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap_or_default().contains("proxy.local"));
    }
}
