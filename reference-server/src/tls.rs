//! HTTPS (`[tls]` in the configuration): the certificate the server presents, from PEM files or
//! made at start. Some relying parties read a provider only over https (Microsoft Entra reads the
//! discovery document of an External Authentication Method over https and nothing else), so the
//! server can be what they need without a proxy in front.
//!
//! Without files the server makes a self-signed certificate for `127.0.0.1`, `::1` and
//! `localhost` when it starts (the listening address is loopback for a test IdP); the handle
//! gives it as PEM ([`crate::Server::certificate_pem`]) so a client in the same process can
//! trust exactly it.

use crate::config::Tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// What the listener needs: the acceptor, and the certificate as PEM (the end-entity first).
pub(crate) struct Identity {
    pub acceptor: TlsAcceptor,
    pub certificate_pem: String,
}

/// The identity `[tls]` describes; a problem names the key to fix.
pub(crate) fn identity(tls: &Tls) -> Result<Identity, String> {
    let (chain, key, certificate_pem) = match (&tls.cert_pem_file, &tls.key_pem_file) {
        (Some(cert), Some(key)) => {
            let pem = std::fs::read_to_string(cert).map_err(|e| format!("tls.cert_pem_file {}: {e}", cert.display()))?;
            let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls.cert_pem_file {}: not PEM certificates: {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!("tls.cert_pem_file {}: no CERTIFICATE block in it", cert.display()));
            }
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls.key_pem_file {}: {e}", key.display()))?;
            (chain, key, pem)
        }
        (None, None) => self_signed()?,
        _ => return Err("tls: set both cert_pem_file and key_pem_file, or neither for a self-signed certificate".into()),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls: the certificate and key do not fit together: {e}"))?;
    Ok(Identity { acceptor: TlsAcceptor::from(Arc::new(config)), certificate_pem })
}

/// A certificate for the loopback names, valid from now for a year, signed by its own P-256 key.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| format!("tls: self-signed certificate: {e}"))?;
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    Ok((vec![certified.cert.der().clone()], key, pem("CERTIFICATE", certified.cert.der())))
}

/// RFC 7468 §2: the textual encoding, base64 in lines of 64 (rcgen's `pem` feature would add a
/// crate for these few lines).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_file_pair_is_refused_naming_both_keys() {
        let tls = Tls { cert_pem_file: Some("cert.pem".into()), key_pem_file: None };
        let e = identity(&tls).err().expect("refused");
        assert!(e.contains("cert_pem_file") && e.contains("key_pem_file"), "{e}");
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let tls = Tls { cert_pem_file: Some("/nonexistent/cert.pem".into()), key_pem_file: Some("/nonexistent/key.pem".into()) };
        let e = identity(&tls).err().expect("refused");
        assert!(e.starts_with("tls.cert_pem_file /nonexistent/cert.pem"), "{e}");
    }

    #[test]
    fn the_self_signed_certificate_is_pem_for_the_loopback_names() {
        let identity = identity(&Tls::default()).expect("self-signed");
        assert!(identity.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let parsed: Vec<_> = CertificateDer::pem_slice_iter(identity.certificate_pem.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(parsed.len(), 1);
    }
}
