//! A browser's login and a pending authorization waiting for its user.

use crate::model::request::AuthRequest;
use std::collections::HashSet;

/// A browser's login at this server.
#[derive(Debug, Clone)]
pub struct Session {
    pub sub: String,
    pub auth_time: u64,
    /// Authentication methods performed (RFC 8176 names).
    pub amr: Vec<String>,
    pub expires: u64,
    /// (client_id, scope) pairs the user approved in this session.
    pub consents: HashSet<(String, String)>,
}

/// An authorization request waiting for the user (login, consent).
#[derive(Debug, Clone)]
pub struct Interaction {
    pub request: AuthRequest,
    /// CSRF token of the login and consent forms.
    pub csrf: String,
    /// The id (cookie) of the browser that started it: only that browser may finish it.
    pub browser: String,
    /// Set once the user has logged in for this interaction (the session id).
    pub session: Option<String>,
    pub expires: u64,
}
