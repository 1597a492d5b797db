//! Every bound the harness puts on what a target sends it, in one place. A hostile or broken
//! target (an endless JWKS, a 62 MB login page, a server that stops answering) must cost the
//! runner a bounded amount of memory, disk, CPU and time, and the report must say what was cut.

use std::borrow::Cow;
use std::time::Duration;

/// A response body is read up to this many bytes, and no further: the rest is never read, and
/// the `Response` says it was cut. Real discovery documents, key sets, token responses and login
/// pages are a few KiB; a body this large is a broken or hostile target.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A whole response (connect, headers and every body chunk) must arrive within this time; a
/// server trickling a byte at a time is cut off here (reqwest's total timeout covers the body).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);

/// How deeply an HTML page may nest its elements before the login driver refuses to parse it.
/// Real login pages nest a few dozen levels; html5ever's tree builder costs time that grows with
/// the depth for every tag, so 200,000 nested `<div>`s cost minutes of CPU per parse, while a
/// 2 MiB page nested this deep parses in about a second (debug build).
pub const MAX_HTML_DEPTH: usize = 256;

/// The default deadline of a whole `conform` run (`--timeout`): the default run takes seconds,
/// a deployment a minute or two.
pub const DEFAULT_RUN_TIMEOUT: &str = "10m";

/// Evidence in reports: a request or response body is kept up to this many bytes.
pub const EVIDENCE_BODY_BYTES: usize = 8 * 1024;
/// Evidence in reports: a URL or a header value is kept up to this many bytes.
pub const EVIDENCE_VALUE_BYTES: usize = 4 * 1024;
/// Evidence in reports: at most this many headers per request or response.
pub const EVIDENCE_HEADERS: usize = 64;
/// Evidence in reports: at most this many decoded JWTs per exchange.
pub const EVIDENCE_JWTS: usize = 8;
/// At most this many values a login script captured are redacted at once (the newest, in all
/// their encodings): a long load run logs in thousands of times.
pub const MAX_LEARNT_SECRETS: usize = 512;
/// At most this many metadata members are named as coming from the RFC 8414 document
/// (`report.target.metadata_from`).
pub const MAX_METADATA_SOURCES: usize = 64;
/// A check's `detail` is kept up to this many bytes.
pub const DETAIL_BYTES: usize = 2 * 1024;
/// A detail quoted on a line of stderr is kept up to this many bytes (the reports have it all).
pub const STDERR_DETAIL_BYTES: usize = 400;

/// The words a check uses when it judged a body that was cut: "body cut at 2 MiB".
pub fn body_cut() -> String {
    format!("body cut at {}", bytes_in_words(MAX_BODY_BYTES))
}

/// Room `cut` leaves for its marker, so that a cut text fits `max` with the marker and cutting
/// it again changes nothing ("… [" + 20 digits + " bytes cut]" is 36 bytes).
const MARKER_ROOM: usize = 40;

/// `text` cut to at most `max` bytes, marker included (at a character boundary), with a
/// marker saying how much was left out: "… [1234 bytes cut]".
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(MARKER_ROOM);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… [{} bytes cut]", &text[..end], text.len() - end))
}

/// `cut` for an owned string, which is returned as it is when it fits.
pub fn cut_owned(text: String, max: usize) -> String {
    match cut(&text, max) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cut) => cut,
    }
}

/// 2097152 -> "2 MiB", 8192 -> "8 KiB", 100 -> "100 bytes".
fn bytes_in_words(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A duration as `--timeout` takes it: one or more `<number><unit>` parts, the units `ms`, `s`,
/// `m` and `h` (`90s`, `10m`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration: write it like 90s, 10m or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(invalid()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit..];
    }
    Ok(total)
}

/// A duration in the words `--timeout` takes: "10m", "90s", "1h30m", "500ms".
pub fn duration_in_words(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 || secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts = [(h, "h"), (m, "m"), (s, "s")];
    parts.iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n}{unit}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_character_boundary_with_a_marker() {
        assert_eq!(cut("short", 8), "short");
        let long = "0123456789".repeat(10);
        assert_eq!(cut(&long, 44), "0123… [96 bytes cut]");
        // "é" is two bytes: a cut inside it moves back to its start.
        assert_eq!(cut(&format!("aé{long}"), 42), "a… [102 bytes cut]");
        assert_eq!(cut_owned("x".repeat(10), 10), "x".repeat(10));
        // A cut text fits its limit, so cutting it again changes nothing.
        let once = cut(&long, 60).into_owned();
        assert!(once.len() <= 60);
        assert_eq!(cut(&once, 60), once);
    }

    #[test]
    fn the_body_limit_is_named_in_words() {
        assert_eq!(body_cut(), "body cut at 2 MiB");
        assert_eq!(bytes_in_words(8 * 1024), "8 KiB");
        assert_eq!(bytes_in_words(1000), "1000 bytes");
    }

    #[test]
    fn durations_are_read_like_humantime() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "10", "m", "10 minutes", "-5s", "1.5m"] {
            assert!(parse_duration(bad).unwrap_err().contains("90s, 10m"), "{bad}");
        }
        assert_eq!(parse_duration(DEFAULT_RUN_TIMEOUT).map(duration_in_words), Ok("10m".to_string()));
        assert_eq!(duration_in_words(Duration::from_secs(5400)), "1h30m");
        assert_eq!(duration_in_words(Duration::from_millis(1500)), "1500ms");
    }
}
