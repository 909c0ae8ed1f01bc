//! TLS to PostgreSQL (SPEC §10: URLs accept `sslmode`), with rustls.
//!
//! - no `sslmode`, or `disable`: plain TCP, as before;
//! - `prefer` / `require`: encrypted; as in libpq, the server's certificate is not checked;
//! - `verify-ca` / `verify-full`: encrypted, and the certificate must chain to the web PKI's roots
//!   or to `sslrootcert=FILE` (PEM) and name the host.

use crate::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// How to reach the server.
pub(crate) enum PgTls {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// The URL as tokio-postgres understands it (`verify-*` become `require`; `sslrootcert` is
/// ours) and the connector its `sslmode` asks for.
pub(crate) fn tls_for(url: &str) -> Result<(String, PgTls), StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = String::new();
    let mut root_file = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = v.to_string(),
            "sslrootcert" => root_file = Some(v.to_string()),
            _ => kept.push(pair.to_string()),
        }
    }
    let bad = |why: String| StoreError::BadUrl(format!("{base}: {why}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?;
    let (config, wire_mode) = match mode.as_str() {
        "" | "disable" => {
            if !mode.is_empty() {
                kept.push("sslmode=disable".into());
            }
            return Ok((join(base, &kept), PgTls::Plain));
        }
        "prefer" | "require" => (
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
            mode.clone(),
        ),
        "verify-ca" | "verify-full" => {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Some(file) = &root_file {
                for cert in CertificateDer::pem_file_iter(file)
                    .map_err(|e| bad(format!("sslrootcert {file}: {e}")))?
                {
                    let cert = cert.map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| bad(format!("sslrootcert {file}: {e}")))?;
                }
            }
            (
                builder.with_root_certificates(roots).with_no_client_auth(),
                "require".to_string(),
            )
        }
        other => {
            return Err(bad(format!(
                "sslmode={other}: use disable, prefer, require, verify-ca or verify-full"
            )))
        }
    };
    kept.push(format!("sslmode={wire_mode}"));
    Ok((
        join(base, &kept),
        PgTls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(config)),
    ))
}

fn join(base: &str, pairs: &[String]) -> String {
    if pairs.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

/// `sslmode=require`: the connection is encrypted and the handshake's signatures are checked,
/// but, as in libpq, the certificate's chain and name are not (use `verify-full` for that).
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_verify_modes_become_require_on_the_wire() {
        let (url, tls) = tls_for("postgres://u@h/db").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(tls, PgTls::Plain) && url == "postgres://u@h/db");
        let (url, tls) = tls_for("postgres://u@h/db?sslmode=verify-full&application_name=fp")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(tls, PgTls::Rustls(_)));
        assert_eq!(url, "postgres://u@h/db?application_name=fp&sslmode=require");
        assert!(tls_for("postgres://u@h/db?sslmode=maybe").is_err());
    }
}
