//! RFC 6238 time-based one-time passwords (TOTP) with the defaults authenticator apps use:
//! HMAC-SHA-1 (RFC 4226 HOTP), 30-second steps, 6 digits. One home for the algorithm: the server
//! verifies a user's code with it, and the harness's login driver computes the code of a test
//! user whose secret a target file names.

use aws_lc_rs::hmac;

/// RFC 6238 §4.1 X, the time step.
pub const STEP_SECS: u64 = 30;
const DIGITS: u32 = 6;
/// RFC 4226 §4 R6: the shared secret is at least 128 bits.
pub const MIN_SECRET_BYTES: usize = 16;

/// The secret as an authenticator app's setup shows it: RFC 4648 base32, in any case, with any
/// spaces and padding. `None` when it is not base32.
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let normalized: String = text.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
    data_encoding::BASE32_NOPAD.decode(normalized.as_bytes()).ok()
}

/// The code for `secret` at `unix_secs`.
pub fn code(secret: &[u8], unix_secs: u64) -> String {
    hotp(secret, unix_secs / STEP_SECS, DIGITS)
}

/// Whether `given` is the code of `secret` at `unix_secs` or one step either side (RFC 6238
/// §5.2: at most one step of network delay or clock drift). Compared in constant time.
pub fn verify(secret: &[u8], given: &str, unix_secs: u64) -> bool {
    let step = unix_secs / STEP_SECS;
    let candidates = [step.saturating_sub(1), step, step + 1];
    // Every candidate is compared, so the time taken does not say which one matched.
    candidates.iter().fold(false, |ok, &counter| ok | crate::util::constant_time_eq(given, &hotp(secret, counter, DIGITS)))
}

/// RFC 4226 §5.3: HMAC-SHA-1 over the big-endian counter, dynamic truncation, `digits` digits.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    format!("{:0width$}", binary % 10u32.pow(digits), width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows (8 digits), and their 6-digit tails.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")] {
            assert_eq!(hotp(secret, time / STEP_SECS, 8), eight, "T = {time}");
            assert_eq!(code(secret, time), &eight[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let current = code(secret, now);
        assert!(verify(secret, &current, now));
        assert!(verify(secret, &current, now + STEP_SECS));
        assert!(verify(secret, &current, now - STEP_SECS));
        assert!(!verify(secret, &current, now + 2 * STEP_SECS));
        assert!(!verify(secret, "000000", now) || current == "000000");
    }

    #[test]
    fn a_secret_is_read_as_apps_show_it() {
        assert_eq!(decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").as_deref(), Some(&b"12345678901234567890"[..]));
        assert_eq!(decode_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").as_deref(), Some(&b"12345678901234567890"[..]));
        assert_eq!(decode_secret("JBSWY3DPEHPK3PXP===="), decode_secret("JBSWY3DPEHPK3PXP"));
        assert_eq!(decode_secret("not base32!"), None);
    }
}
