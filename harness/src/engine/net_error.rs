//! A transport failure in one sentence with its cause ("connection refused at 127.0.0.1:1",
//! "certificate not trusted: unknown issuer; pass --ca-file"): reqwest's own message hides the
//! cause ("error sending request for url ..."), and the full chain repeats itself.

use rustls::CertificateError;
use std::error::Error as _;

/// What went wrong with a request, in one sentence.
pub fn describe(e: &reqwest::Error) -> String {
    let at = e.url().map(host_and_port).unwrap_or_default();
    if let Some(tls) = find_cause::<rustls::Error>(e) {
        return tls_sentence(tls, &at);
    }
    if e.is_timeout() {
        let limit = crate::limits::duration_in_words(crate::limits::RESPONSE_TIMEOUT);
        return format!("timed out: {at} did not send a whole response within {limit}");
    }
    if let Some(io) = find_cause::<std::io::Error>(e) {
        use std::io::ErrorKind::*;
        match io.kind() {
            ConnectionRefused => return format!("connection refused at {at}"),
            ConnectionReset | ConnectionAborted | BrokenPipe => return format!("connection reset by {at}"),
            _ if io.to_string().contains("lookup address") => return format!("cannot resolve the host name of {at}"),
            _ => {}
        }
    }
    chain(e)
}

/// The first error of `T` in the chain of `e`. An `io::Error` is followed into the error it
/// wraps (its `source()` skips that error itself: a TLS failure reaches us as an io::Error in
/// an io::Error around the `rustls::Error`).
fn find_cause<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = match error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

fn tls_sentence(error: &rustls::Error, at: &str) -> String {
    let certificate = match error {
        rustls::Error::InvalidCertificate(c) => c,
        other => return format!("TLS handshake with {at} failed: {other}"),
    };
    match certificate {
        CertificateError::UnknownIssuer => {
            format!("certificate of {at} not trusted: unknown issuer; pass --ca-file (or set SSL_CERT_FILE) with the CA that issued it")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate of {at} is not valid for that host name")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!("certificate of {at} has expired"),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!("certificate of {at} is not valid yet"),
        CertificateError::Revoked => format!("certificate of {at} is revoked"),
        other => format!("certificate of {at} rejected: {other}"),
    }
}

/// `host:port` of a URL, the port spelled out even when it is the scheme's default.
fn host_and_port(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => url.to_string(),
    }
}

/// Every distinct message of the chain, joined: the fallback when no cause is recognised.
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_name_the_cause_and_the_fix() {
        let unknown = tls_sentence(&rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer), "idp.test:443");
        assert_eq!(
            unknown,
            "certificate of idp.test:443 not trusted: unknown issuer; pass --ca-file (or set SSL_CERT_FILE) with the CA that issued it"
        );
        let expired = tls_sentence(&rustls::Error::InvalidCertificate(CertificateError::Expired), "idp.test:443");
        assert_eq!(expired, "certificate of idp.test:443 has expired");
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_sentence() {
        // Port 1 (tcpmux) is closed on any machine that runs tests.
        let e = reqwest::get("http://127.0.0.1:1/x").await.unwrap_err();
        assert_eq!(describe(&e), "connection refused at 127.0.0.1:1");
    }
}
