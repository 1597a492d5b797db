//! What a profile says of a server that makes one of the reference server's allowed variants:
//! most variants are answers every profile must accept, but a few are the deployment's own
//! choice (no refresh rotation, opaque access tokens, one signing algorithm), which a profile
//! states. The kill matrix, and `conform --variant` with the built-in profile, judge a variant
//! against the profile that states its choice.

use super::{AccessTokenFormat, Profile};
use reference_server::variants::Variant;

/// `base` as a deployment with `variant` would state it.
pub fn for_variant(variant: Variant, base: &Profile) -> Profile {
    let mut profile = base.clone();
    match variant {
        // One RS256 key signs everything: the deployment claims RS256 alone.
        Variant::SingleKeyNoKid => profile.flows.id_token_signing_algs = vec!["RS256".into()],
        // RFC 9700 §4.14.2 requires rotation (or sender-constraining) for public clients only.
        Variant::RefreshNotRotatedConfidential => profile.flows.refresh_rotation = false,
        Variant::OpaqueAccessTokens => profile.flows.access_token_format = AccessTokenFormat::Opaque,
        // A deployment that refuses confidential clients without PKCE says so.
        Variant::PkceRequiredForAll => profile.flows.pkce_required_for_confidential = true,
        _ => {}
    }
    profile
}
