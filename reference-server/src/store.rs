//! The server's memory: browser sessions, pending authorizations (interactions), authorization
//! codes, grants with their refresh-token families, and the access tokens issued to users.
//!
//! One mutex guards it all: every lifecycle rule (single-use codes, refresh rotation, reuse
//! detection, the per-user cap) is a read-modify-write that must be atomic, and the critical
//! sections are short (signing happens outside the lock). Every operation takes `now` (seconds)
//! so the rules are testable without a clock.
//!
//! Client-credentials access tokens are not recorded: they are self-contained JWTs that only
//! resource servers consume, so storing them would make memory grow with load for nothing.

use crate::authorize::request::AuthRequest;
use crate::faults::{Fault, Faults};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

pub type GrantId = u64;

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
    /// Set once the user has logged in for this interaction (the session id).
    pub session: Option<String>,
    pub expires: u64,
}

/// What the user authorised: the basis of codes, tokens and refresh tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub client_id: String,
    pub sub: String,
    pub scope: Vec<String>,
    /// The resource servers the grant covers (RFC 8707 §2.1); each access token is for one.
    pub resources: Vec<String>,
    pub auth_time: u64,
    /// The request's `max_age`: with it, `auth_time` is REQUIRED in ID tokens (OIDC Core §2).
    pub max_age: Option<u64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub org_id: Option<String>,
    pub claims: Option<crate::claims::ClaimsRequest>,
}

#[derive(Debug, Clone)]
pub struct Code {
    pub authz: Authorization,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires: u64,
    /// The grant created when the code was redeemed; a second redemption revokes it
    /// (RFC 6749 §4.1.2).
    pub redeemed: Option<GrantId>,
}

/// Tokens issued from one authorization: one refresh-token family and its access tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub authz: Authorization,
    pub created: u64,
    /// The grant ends when its refresh tokens would (or its last access token, without them).
    pub expires: u64,
}

#[derive(Debug, Clone)]
struct RefreshRecord {
    grant: GrantId,
    /// Rotated away: presenting it again is reuse (RFC 9700 §4.14.2).
    used: bool,
    expires: u64,
}

#[derive(Debug, Clone)]
struct AccessRecord {
    grant: GrantId,
    expires: u64,
}

/// How an RFC 7009 revocation ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// Unknown, expired or already revoked: still a success for the client (RFC 7009 §2.2).
    Unknown,
    /// Issued to another client: refused (RFC 7009 §2.1).
    OtherClient,
}

/// How a redemption or refresh ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeem<T> {
    Ok(T),
    Unknown,
    Expired,
    /// Already used: the tokens issued from it were revoked.
    Replayed,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    interactions: HashMap<String, Interaction>,
    codes: HashMap<String, Code>,
    grants: HashMap<GrantId, Grant>,
    /// Live grants per (sub, client_id), oldest first: enforces the per-user cap.
    grants_by_user: HashMap<(String, String), VecDeque<GrantId>>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    access_tokens: HashMap<String, AccessRecord>,
    next_grant: GrantId,
}

pub struct Store {
    inner: Mutex<Inner>,
    max_grants_per_user: usize,
    faults: Faults,
}

/// Counts of what the store holds (for tests and the sweep log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    pub sessions: usize,
    pub interactions: usize,
    pub codes: usize,
    pub grants: usize,
    pub refresh_tokens: usize,
    pub access_tokens: usize,
}

impl Store {
    pub fn new(max_grants_per_user: usize, faults: Faults) -> Store {
        Store { inner: Mutex::new(Inner::default()), max_grants_per_user, faults }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied rule behind (each
        // operation mutates at the end), so the poisoned state is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    // --- sessions and interactions -------------------------------------------------------

    pub fn put_session(&self, id: String, session: Session) {
        self.lock().sessions.insert(id, session);
    }

    pub fn session(&self, id: &str, now: u64) -> Option<Session> {
        self.lock().sessions.get(id).filter(|s| s.expires > now).cloned()
    }

    pub fn add_consent(&self, session_id: &str, client_id: &str, scope: &str) {
        if let Some(s) = self.lock().sessions.get_mut(session_id) {
            s.consents.insert((client_id.to_string(), scope.to_string()));
        }
    }

    pub fn end_session(&self, id: &str) -> Option<Session> {
        self.lock().sessions.remove(id)
    }

    pub fn put_interaction(&self, id: String, interaction: Interaction) {
        self.lock().interactions.insert(id, interaction);
    }

    pub fn interaction(&self, id: &str, now: u64) -> Option<Interaction> {
        self.lock().interactions.get(id).filter(|i| i.expires > now).cloned()
    }

    pub fn set_interaction_session(&self, id: &str, session_id: &str) {
        if let Some(i) = self.lock().interactions.get_mut(id) {
            i.session = Some(session_id.to_string());
        }
    }

    /// Removes the interaction: an authorization finishes once.
    pub fn take_interaction(&self, id: &str) -> Option<Interaction> {
        self.lock().interactions.remove(id)
    }

    // --- codes ---------------------------------------------------------------------------

    pub fn put_code(&self, code: String, record: Code) {
        self.lock().codes.insert(code, record);
    }

    /// Redeems a code exactly once. The caller's `validate` runs under the lock before the code
    /// is consumed, so a request with the wrong client or verifier does not burn the code of the
    /// legitimate client. A replay revokes the grant issued from the first redemption.
    pub fn redeem_code<E>(
        &self,
        code: &str,
        now: u64,
        validate: impl FnOnce(&Code) -> Result<(), E>,
        new_grant: impl FnOnce(&Code) -> Grant,
    ) -> Result<Redeem<(Code, GrantId)>, E> {
        let mut inner = self.lock();
        let Some(record) = inner.codes.get(code) else { return Ok(Redeem::Unknown) };
        if let Some(grant) = record.redeemed
            && !self.faults.has(Fault::CodeReuseAllowed)
        {
            inner.revoke_grant(grant);
            return Ok(Redeem::Replayed);
        }
        if record.expires <= now {
            inner.codes.remove(code);
            return Ok(Redeem::Expired);
        }
        validate(record)?;
        let record = record.clone();
        let grant = new_grant(&record);
        let id = inner.insert_grant(grant, self.max_grants_per_user, self.faults);
        if let Some(stored) = inner.codes.get_mut(code) {
            stored.redeemed = Some(id);
        }
        Ok(Redeem::Ok((record, id)))
    }

    // --- grants, refresh and access tokens ----------------------------------------------

    /// Records a grant (implicit flow, code redemption) and drops the user's oldest one beyond
    /// the cap.
    pub fn add_grant(&self, grant: Grant) -> GrantId {
        self.lock().insert_grant(grant, self.max_grants_per_user, self.faults)
    }

    pub fn grant(&self, id: GrantId) -> Option<Grant> {
        self.lock().grants.get(&id).cloned()
    }

    /// Records a refresh token of `grant`; false (nothing recorded) when the grant was revoked
    /// meanwhile.
    pub fn add_refresh_token(&self, token: String, grant: GrantId, expires: u64) -> bool {
        let mut inner = self.lock();
        let Some(g) = inner.grants.get_mut(&grant) else { return false };
        g.expires = g.expires.max(expires);
        inner.refresh_tokens.insert(token, RefreshRecord { grant, used: false, expires });
        true
    }

    /// Records a user's access token of `grant`; false (nothing recorded) when the grant was
    /// revoked meanwhile.
    pub fn add_access_token(&self, jti: String, grant: GrantId, expires: u64) -> bool {
        let mut inner = self.lock();
        let Some(g) = inner.grants.get_mut(&grant) else { return false };
        g.expires = g.expires.max(expires);
        inner.access_tokens.insert(jti, AccessRecord { grant, expires });
        true
    }

    /// Rotates a refresh token (RFC 9700 §4.14.2): marks it used (unless `rotate` is false: it
    /// stays valid) and returns its grant. A token presented after rotation revokes the whole
    /// family. `validate` (client binding, scope) runs under the lock before the token is
    /// consumed.
    pub fn use_refresh_token<E>(
        &self,
        token: &str,
        now: u64,
        rotate: bool,
        validate: impl FnOnce(&Grant) -> Result<(), E>,
    ) -> Result<Redeem<(GrantId, Grant)>, E> {
        let mut inner = self.lock();
        let Some(record) = inner.refresh_tokens.get(token).cloned() else { return Ok(Redeem::Unknown) };
        let Some(grant) = inner.grants.get(&record.grant).cloned() else {
            inner.refresh_tokens.remove(token);
            return Ok(Redeem::Unknown);
        };
        if record.used && !self.faults.has(Fault::RefreshReuseNotDetected) {
            inner.revoke_grant(record.grant);
            return Ok(Redeem::Replayed);
        }
        if record.expires <= now {
            return Ok(Redeem::Expired);
        }
        validate(&grant)?;
        if let Some(r) = inner.refresh_tokens.get_mut(token)
            && rotate
        {
            r.used = true;
        }
        Ok(Redeem::Ok((record.grant, grant)))
    }

    /// The grant behind a user's access token, if the token is still live.
    pub fn access_token_grant(&self, jti: &str, now: u64) -> Option<Grant> {
        let inner = self.lock();
        let record = inner.access_tokens.get(jti).filter(|r| r.expires > now)?;
        inner.grants.get(&record.grant).cloned()
    }

    /// RFC 7009: revokes the grant behind a refresh token or access token of `client_id`.
    pub fn revoke_token(&self, token_or_jti: &str, client_id: &str) -> Revocation {
        let mut inner = self.lock();
        let grant =
            inner.refresh_tokens.get(token_or_jti).map(|r| r.grant).or_else(|| inner.access_tokens.get(token_or_jti).map(|r| r.grant));
        let Some(grant) = grant else { return Revocation::Unknown };
        match inner.grants.get(&grant) {
            Some(g) if g.authz.client_id != client_id && !self.faults.has(Fault::RevocationIgnoresClient) => Revocation::OtherClient,
            Some(_) => {
                // Revoking a refresh token revokes the grant's access tokens too (RFC 7009 §2.1
                // "SHOULD"); revoking an access token alone would leave the refresh token able to
                // mint a new one, so the whole grant goes in both cases.
                inner.revoke_grant(grant);
                Revocation::Revoked
            }
            None => Revocation::Unknown,
        }
    }

    /// Bulk revocation for the admin API; returns how many grants were revoked.
    pub fn revoke_where(&self, matches: impl Fn(&Grant) -> bool) -> usize {
        let mut inner = self.lock();
        let ids: Vec<GrantId> = inner.grants.iter().filter(|(_, g)| matches(g)).map(|(id, _)| *id).collect();
        for id in &ids {
            inner.revoke_grant(*id);
        }
        ids.len()
    }

    /// Drops everything expired so memory stays bounded under load.
    pub fn sweep(&self, now: u64) -> Sizes {
        let mut inner = self.lock();
        inner.sessions.retain(|_, s| s.expires > now);
        inner.interactions.retain(|_, i| i.expires > now);
        inner.codes.retain(|_, c| c.expires > now);
        let expired: Vec<GrantId> = inner.grants.iter().filter(|(_, g)| g.expires <= now).map(|(id, _)| *id).collect();
        for id in expired {
            inner.revoke_grant(id);
        }
        let Inner { refresh_tokens, access_tokens, grants, .. } = &mut *inner;
        refresh_tokens.retain(|_, r| r.expires > now && grants.contains_key(&r.grant));
        access_tokens.retain(|_, a| a.expires > now && grants.contains_key(&a.grant));
        inner.sizes()
    }

    pub fn sizes(&self) -> Sizes {
        self.lock().sizes()
    }
}

impl Inner {
    fn insert_grant(&mut self, grant: Grant, cap: usize, faults: Faults) -> GrantId {
        let cap = if faults.has(Fault::TokenCapNotEnforced) { usize::MAX } else { cap };
        self.next_grant += 1;
        let id = self.next_grant;
        let key = (grant.authz.sub.clone(), grant.authz.client_id.clone());
        self.grants.insert(id, grant);
        let queue = self.grants_by_user.entry(key.clone()).or_default();
        queue.push_back(id);
        let mut dropped = Vec::new();
        while queue.len() > cap {
            if let Some(oldest) = queue.pop_front() {
                dropped.push(oldest);
            }
        }
        for old in dropped {
            self.revoke_grant(old);
        }
        id
    }

    /// Removes a grant; its refresh and access tokens become invalid at once (they resolve to no
    /// grant) and are dropped from the maps by the next sweep.
    fn revoke_grant(&mut self, id: GrantId) {
        if let Some(grant) = self.grants.remove(&id) {
            let key = (grant.authz.sub, grant.authz.client_id);
            if let Some(queue) = self.grants_by_user.get_mut(&key) {
                queue.retain(|g| *g != id);
                if queue.is_empty() {
                    self.grants_by_user.remove(&key);
                }
            }
        }
    }

    fn sizes(&self) -> Sizes {
        Sizes {
            sessions: self.sessions.len(),
            interactions: self.interactions.len(),
            codes: self.codes.len(),
            grants: self.grants.len(),
            refresh_tokens: self.refresh_tokens.len(),
            access_tokens: self.access_tokens.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authz(sub: &str, client: &str) -> Authorization {
        Authorization {
            client_id: client.into(),
            sub: sub.into(),
            scope: vec!["openid".into()],
            resources: Vec::new(),
            auth_time: 0,
            max_age: None,
            acr: None,
            amr: vec![],
            org_id: None,
            claims: None,
        }
    }

    fn grant(sub: &str, client: &str) -> Grant {
        Grant { authz: authz(sub, client), created: 0, expires: 1000 }
    }

    #[test]
    fn the_oldest_grant_is_dropped_beyond_the_cap() {
        let store = Store::new(3, Faults::default());
        let ids: Vec<_> = (0..4).map(|_| store.add_grant(grant("alice", "web"))).collect();
        let other = store.add_grant(grant("alice", "spa"));
        assert!(store.grant(ids[0]).is_none(), "oldest dropped");
        assert!(ids[1..].iter().all(|id| store.grant(*id).is_some()));
        assert!(store.grant(other).is_some(), "the cap is per application");
    }

    #[test]
    fn refresh_reuse_revokes_the_family() {
        let store = Store::new(50, Faults::default());
        let g = store.add_grant(grant("alice", "web"));
        assert!(store.add_refresh_token("r1".into(), g, 500));
        assert!(store.add_access_token("jti1".into(), g, 500));
        assert!(matches!(store.use_refresh_token::<()>("r1", 10, true, |_| Ok(())), Ok(Redeem::Ok(_))));
        assert!(store.add_refresh_token("r2".into(), g, 500));
        assert_eq!(store.use_refresh_token::<()>("r1", 11, true, |_| Ok(())), Ok(Redeem::Replayed));
        assert_eq!(store.use_refresh_token::<()>("r2", 12, true, |_| Ok(())), Ok(Redeem::Unknown));
        assert!(store.access_token_grant("jti1", 12).is_none());
    }

    #[test]
    fn a_failed_validation_does_not_consume_the_refresh_token() {
        let store = Store::new(50, Faults::default());
        let g = store.add_grant(grant("alice", "web"));
        assert!(store.add_refresh_token("r1".into(), g, 500));
        assert_eq!(store.use_refresh_token("r1", 10, true, |_| Err("wrong client")), Err("wrong client"));
        assert!(matches!(store.use_refresh_token::<()>("r1", 10, true, |_| Ok(())), Ok(Redeem::Ok(_))));
    }

    #[test]
    fn sweep_drops_expired_entries() {
        let store = Store::new(50, Faults::default());
        let g = store.add_grant(Grant { authz: authz("alice", "web"), created: 0, expires: 100 });
        assert!(store.add_refresh_token("r".into(), g, 100));
        assert!(store.add_access_token("a".into(), g, 50));
        let live = store.add_grant(Grant { authz: authz("bob", "web"), created: 0, expires: 1000 });
        assert!(store.add_access_token("b".into(), live, 1000));
        let sizes = store.sweep(200);
        assert_eq!((sizes.grants, sizes.refresh_tokens, sizes.access_tokens), (1, 0, 1));
    }

    #[test]
    fn revocation_is_refused_for_another_clients_token() {
        let store = Store::new(50, Faults::default());
        let g = store.add_grant(grant("alice", "web"));
        assert!(store.add_refresh_token("r".into(), g, 500));
        assert_eq!(store.revoke_token("r", "spa"), Revocation::OtherClient);
        assert_eq!(store.revoke_token("r", "web"), Revocation::Revoked);
        assert_eq!(store.revoke_token("r", "web"), Revocation::Unknown);
    }
}
