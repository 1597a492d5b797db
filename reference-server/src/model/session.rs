//! A browser's login and a pending authorization waiting for its user.

use crate::model::request::AuthRequest;
use std::collections::{BTreeSet, HashMap};

/// A browser's login at this server.
#[derive(Debug, Clone)]
pub struct Session {
    pub sub: String,
    pub auth_time: u64,
    /// Authentication methods performed (RFC 8176 names).
    pub amr: Vec<String>,
    pub expires: u64,
    /// What the user approved for each client in this session (`rules::consent`).
    pub consents: HashMap<String, Approval>,
}

/// Everything a user approved for one client: the union of every approved request, so it is
/// bounded by the configuration (the client's scopes and resources, the user's claims) whatever
/// the requests ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approval {
    pub scopes: BTreeSet<String>,
    /// Names of the user's claims the approved requests release.
    pub claims: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

/// An authorization request waiting for the user (login, consent).
#[derive(Debug, Clone)]
pub struct Interaction {
    pub request: AuthRequest,
    /// CSRF token of the login and consent forms.
    pub csrf: String,
    /// Set once the user has logged in for this interaction (the session id).
    pub session: Option<String>,
    pub expires: u64,
    /// Wrong one-time codes given on the second-factor page (`authorize::second_factor`).
    pub failed_codes: u32,
}
