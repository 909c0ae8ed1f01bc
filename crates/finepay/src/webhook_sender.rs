//! The webhooks' way to the outside world (SPEC §8): POSTs over HTTPS (rustls) with a time-out
//! and no redirects, to public addresses only. While the sandbox is on (the in-process sandboxes
//! of a test or demo), plain HTTP and loopback and private addresses are allowed too.
//!
//! The guard against server-side request forgery resolves the host and refuses loopback,
//! private, link-local, shared (100.64/10), unspecified, multicast and IPv6 unique-local
//! addresses, then connects to exactly the address it checked (no second resolution for a DNS
//! rebinding to change).

use async_trait::async_trait;
use finepay_core::WebhookSender;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpWebhookSender {
    /// The sandbox is on: HTTP, loopback and private addresses are allowed.
    pub allow_private: bool,
}

/// Whether an address is one a webhook may never reach from a public service.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

impl HttpWebhookSender {
    /// The URL's host and the address to connect to, once it passes the guard.
    async fn target(&self, url: &str) -> Result<(reqwest::Url, String, SocketAddr), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            "http" => return Err("use an https:// URL".into()),
            other => return Err(format!("{other}: use an https:// URL")),
        }
        let host = parsed
            .host_str()
            .ok_or("the URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = parsed
            .port_or_known_default()
            .ok_or("the URL has no port")?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{host} cannot be resolved: {e}"))?
            .collect();
        let first = *addrs.first().ok_or(format!("{host} has no address"))?;
        if !self.allow_private {
            if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(format!(
                    "{host} resolves to {}, a private or local address: webhooks go to public addresses only",
                    bad.ip()
                ));
            }
        }
        Ok((parsed, host, first))
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_url(&self, url: &str) -> Result<(), String> {
        self.target(url).await.map(|_| ())
    }

    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<u16, String> {
        let (parsed, host, addr) = self.target(url).await?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .build()
            .map_err(|e| format!("cannot build a client: {e}"))?;
        let mut request = client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_refused_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                is_private(ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
                "{ip}"
            );
        }
        for ip in ["8.8.8.8", "223.5.5.5", "2400:3200::1"] {
            assert!(
                !is_private(ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
                "{ip}"
            );
        }
    }

    #[tokio::test]
    async fn without_the_sandbox_only_public_https_urls_pass() {
        let strict = HttpWebhookSender {
            allow_private: false,
        };
        for url in [
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://10.0.0.8/hook",
            "ftp://example.com/",
            "not a url",
        ] {
            assert!(strict.check_url(url).await.is_err(), "{url}");
        }
        let sandbox = HttpWebhookSender {
            allow_private: true,
        };
        assert!(sandbox.check_url("http://127.0.0.1:9/hook").await.is_ok());
    }
}
