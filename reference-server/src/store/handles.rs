//! Refresh tokens and user access-token ids as signed handles: the grant they belong to and a
//! number (the refresh token's generation, the access token's expiry), authenticated with the
//! server's own HMAC key and padded with fresh randomness. The store keeps no record per token:
//! a grant remembers only its current refresh generation, so a token of an older generation is
//! recognised as reuse (RFC 9700 §4.14.2) however often the family rotated, in constant memory,
//! and a revoked grant takes every token that names it along.
//!
//! Signed, not encrypted: whoever holds a token can read its grant number and generation (how
//! many grants the server made, how often the family rotated). Neither lets anyone forge or
//! extend a token; a deployment that must hide them would encrypt the body.

use super::GrantId;
use crate::util::{b64, b64_decode};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// What a handle stands for; part of the authenticated bytes, so one kind never opens as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Refresh = b'r' as isize,
    Access = b'a' as isize,
}

const VERSION: u8 = 1;
/// version, kind, grant, number, randomness.
const BODY: usize = 1 + 1 + 8 + 8 + 16;
/// HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to half the output).
const TAG: usize = 16;
/// Unpadded base64url of the whole (RFC 4648 §5): anything longer is not worth decoding.
const HANDLE_LEN: usize = ((BODY + TAG) * 4).div_ceil(3);

pub struct Sealer {
    key: hmac::Key,
}

impl Sealer {
    /// A sealer with a fresh key: handles of one server never open on another.
    pub fn new() -> Sealer {
        let rng = SystemRandom::new();
        // As for every secret the server makes: without entropy it must not carry on.
        Sealer { key: hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("system random number generator") }
    }

    pub fn seal(&self, kind: Kind, grant: GrantId, number: u64) -> String {
        let mut bytes = Vec::with_capacity(BODY + TAG);
        bytes.push(VERSION);
        bytes.push(kind as u8);
        bytes.extend_from_slice(&grant.to_be_bytes());
        bytes.extend_from_slice(&number.to_be_bytes());
        let mut random = [0u8; 16];
        SystemRandom::new().fill(&mut random).expect("system random number generator");
        bytes.extend_from_slice(&random);
        let tag = hmac::sign(&self.key, &bytes);
        bytes.extend_from_slice(&tag.as_ref()[..TAG]);
        b64(&bytes)
    }

    /// The grant and number of a handle this sealer made for `kind`; None for anything else.
    pub fn open(&self, kind: Kind, handle: &str) -> Option<(GrantId, u64)> {
        if handle.len() != HANDLE_LEN {
            return None;
        }
        let bytes = b64_decode(handle)?;
        let (body, tag) = bytes.split_at_checked(BODY)?;
        if tag.len() != TAG || body[0] != VERSION || body[1] != kind as u8 {
            return None;
        }
        // Constant time: the tag must not be guessable byte by byte through timing.
        let full = hmac::sign(&self.key, body);
        aws_lc_rs::constant_time::verify_slices_are_equal(&full.as_ref()[..TAG], tag).ok()?;
        let number = |at: usize| body.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
        Some((number(2)?, number(10)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_opens_only_as_its_kind_on_its_server_and_unaltered() {
        let sealer = Sealer::new();
        let handle = sealer.seal(Kind::Refresh, 7, 3);
        assert_eq!(sealer.open(Kind::Refresh, &handle), Some((7, 3)));
        assert_eq!(sealer.open(Kind::Access, &handle), None);
        assert_eq!(Sealer::new().open(Kind::Refresh, &handle), None, "another server's key");
        let mut altered = handle.clone().into_bytes();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.open(Kind::Refresh, &String::from_utf8(altered).unwrap()), None);
        assert_ne!(sealer.seal(Kind::Refresh, 7, 3), handle, "fresh randomness in every handle");
        for junk in ["", "x", "%%%", &"A".repeat(67), &"A".repeat(10_000)] {
            assert_eq!(sealer.open(Kind::Refresh, junk), None);
        }
    }
}
