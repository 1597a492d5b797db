//! Remembered consent: what a user approved for a client covers a later request when that
//! request asks for nothing more (scopes, released claims, resources). OIDC Core §3.1.2.4 leaves
//! how consent is obtained, and remembered, to the server.

use crate::config::User;
use crate::model::request::AuthRequest;
use crate::model::session::Approval;
use crate::rules::claims::released_claim_names;

/// What `request` would make the user approve: its scopes, the names of the user's claims it
/// releases (never a claim the user does not have, so a request cannot grow it at will), and its
/// resources.
pub fn asked(request: &AuthRequest, user: &User) -> Approval {
    Approval {
        scopes: request.scope.iter().cloned().collect(),
        claims: released_claim_names(user, &request.scope, request.claims.as_ref()),
        resources: request.resources.iter().cloned().collect(),
    }
}

/// Whether the approval already covers `asked`.
pub fn covers(approved: &Approval, asked: &Approval) -> bool {
    asked.scopes.is_subset(&approved.scopes) && asked.claims.is_subset(&approved.claims) && asked.resources.is_subset(&approved.resources)
}

/// The approval after the user also approved `asked`.
pub fn add(approved: &mut Approval, asked: Approval) {
    approved.scopes.extend(asked.scopes);
    approved.claims.extend(asked.claims);
    approved.resources.extend(asked.resources);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(scopes: &[&str], claims: &[&str]) -> Approval {
        Approval {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            claims: claims.iter().map(|s| s.to_string()).collect(),
            resources: Default::default(),
        }
    }

    #[test]
    fn an_approval_covers_what_asks_for_nothing_more() {
        let mut approved = approval(&["openid", "email"], &["email"]);
        assert!(covers(&approved, &approval(&["openid"], &[])));
        assert!(!covers(&approved, &approval(&["openid", "profile"], &[])), "a new scope");
        assert!(!covers(&approved, &approval(&["openid"], &["name"])), "a new claim");
        add(&mut approved, approval(&["profile"], &["name"]));
        assert!(covers(&approved, &approval(&["openid", "profile"], &["name", "email"])));
    }
}
