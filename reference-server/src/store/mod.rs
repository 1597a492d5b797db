//! The server's memory: browser sessions, pending authorizations (interactions), authorization
//! codes, and grants with their refresh-token families.
//!
//! One mutex guards it all: every lifecycle rule (single-use codes, refresh rotation, reuse
//! detection, the per-user cap) is a read-modify-write that must be atomic, and the critical
//! sections are short (signing happens outside the lock). Every operation takes `now` (seconds)
//! so the rules are testable without a clock.
//!
//! Memory is bounded whatever clients do: interactions (which anyone can start without logging
//! in), sessions and codes are capped per owner and in all (`[limits]`, `owned`), grants are
//! capped per user and application,
//! and tokens cost nothing: refresh tokens and user access-token ids are signed handles naming
//! their grant (`handles`), so rotating a refresh token a million times keeps one grant. The
//! sweep removes expired entries in bounded batches, releasing the lock between them.
//!
//! Client-credentials access tokens are not recorded: they are self-contained JWTs that only
//! resource servers consume.

mod expiring;
mod handles;
mod owned;

use crate::config::Limits;
use crate::faults::{Fault, Faults};
use crate::model::grant::{Code, Grant, GrantId};
use crate::model::session::{Approval, Interaction, Session};
use expiring::Expiring;
use handles::{Kind, Sealer};
use owned::Owned;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Entries the sweep removes per lock hold.
const SWEEP_BATCH: usize = 1024;

/// A grant's refresh-token family: only the token of the current generation is valid; one of
/// an older generation was rotated away, and presenting it is reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Family {
    generation: u64,
    expires: u64,
}

#[derive(Debug, Clone)]
struct GrantRecord {
    grant: Grant,
    family: Option<Family>,
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

struct Inner {
    /// Owned by their user (`sub`).
    sessions: Owned<Session>,
    /// Owned by their client.
    interactions: Owned<Interaction>,
    /// Owned by their user and client.
    codes: Owned<Code>,
    grants: Expiring<GrantId, GrantRecord>,
    /// Live grants per (sub, client_id), oldest first: enforces the per-user cap.
    grants_by_user: HashMap<(String, String), VecDeque<GrantId>>,
    /// Grants with a refresh-token family (kept as a count: `sizes` must not walk the grants).
    refresh_families: usize,
    next_grant: GrantId,
}

pub struct Store {
    inner: Mutex<Inner>,
    sealer: Sealer,
    max_grants_per_user: usize,
    faults: Faults,
}

/// Counts of what the store holds (for `/admin/stats` and the sweep log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    pub sessions: usize,
    pub interactions: usize,
    pub codes: usize,
    pub grants: usize,
    /// Grants with a live refresh-token family.
    pub refresh_families: usize,
}

impl Store {
    pub fn new(max_grants_per_user: usize, limits: Limits, faults: Faults) -> Store {
        let inner = Inner {
            sessions: Owned::new(limits.max_sessions_per_user, limits.max_sessions),
            interactions: Owned::new(limits.max_interactions_per_client, limits.max_interactions),
            codes: Owned::new(limits.max_codes_per_user_per_client, limits.max_codes),
            grants: Expiring::default(),
            grants_by_user: HashMap::new(),
            refresh_families: 0,
            next_grant: 0,
        };
        Store { inner: Mutex::new(inner), sealer: Sealer::new(), max_grants_per_user, faults }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied rule behind (each
        // operation mutates at the end), so the poisoned state is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    // --- sessions and interactions -------------------------------------------------------

    /// Records a login; beyond `limits.max_sessions_per_user` the user's own oldest session
    /// ends, beyond `limits.max_sessions` the oldest of all.
    pub fn put_session(&self, id: String, session: Session) {
        let (owner, expires) = (session.sub.clone(), session.expires);
        self.lock().sessions.insert(id, session, owner, expires);
    }

    pub fn session(&self, id: &str, now: u64) -> Option<Session> {
        self.lock().sessions.get(id).filter(|s| s.expires > now).cloned()
    }

    /// Adds what the user approved for `client_id` to the session's approval for it.
    pub fn add_consent(&self, session_id: &str, client_id: &str, approved: Approval) {
        if let Some(s) = self.lock().sessions.get_mut(session_id) {
            crate::rules::consent::add(s.consents.entry(client_id.to_string()).or_default(), approved);
        }
    }

    pub fn end_session(&self, id: &str) -> Option<Session> {
        self.lock().sessions.remove(id)
    }

    /// Records a pending authorization. Beyond `limits.max_interactions_per_client` the
    /// client's own oldest one is dropped (a flood through one client costs that client's
    /// pending sign-ins, not another's; a new request always starts); beyond
    /// `limits.max_interactions` in all, the oldest of any client.
    pub fn put_interaction(&self, id: String, interaction: Interaction) {
        let (owner, expires) = (interaction.request.client_id.clone(), interaction.expires);
        self.lock().interactions.insert(id, interaction, owner, expires);
    }

    pub fn interaction(&self, id: &str, now: u64) -> Option<Interaction> {
        self.lock().interactions.get(id).filter(|i| i.expires > now).cloned()
    }

    pub fn set_interaction_session(&self, id: &str, session_id: &str) {
        if let Some(i) = self.lock().interactions.get_mut(id) {
            i.session = Some(session_id.to_string());
        }
    }

    /// Counts a wrong one-time code for the interaction: how many it has had.
    pub fn count_failed_code(&self, id: &str) -> u32 {
        match self.lock().interactions.get_mut(id) {
            Some(i) => {
                i.failed_codes += 1;
                i.failed_codes
            }
            None => 0,
        }
    }

    /// Removes the interaction: an authorization finishes once.
    pub fn take_interaction(&self, id: &str) -> Option<Interaction> {
        self.lock().interactions.remove(id)
    }

    // --- codes ---------------------------------------------------------------------------

    /// Records a code; beyond `limits.max_codes_per_user_per_client` the pair's own oldest is
    /// dropped, beyond `limits.max_codes` the oldest of all.
    pub fn put_code(&self, code: String, record: Code) {
        let owner = format!("{} {}", record.authz.sub, record.authz.client_id);
        let expires = record.expires;
        self.lock().codes.insert(code, record, owner, expires);
    }

    /// Redeems a code exactly once. Under the lock, the caller's `bound` (client, redirect URI,
    /// PKCE verifier) runs first: a request that fails it neither burns the legitimate client's
    /// code nor, with a leaked used code, revokes the owner's grant. Only the code's own client
    /// replaying it revokes the grant issued from the first redemption (RFC 6749 §4.1.2). Then
    /// `validate` (what the request asks for, e.g. its resource), whose answer is returned,
    /// before the code is used up: the same order as `use_refresh_token`.
    pub fn redeem_code<V, E>(
        &self,
        code: &str,
        now: u64,
        bound: impl FnOnce(&Code) -> Result<(), E>,
        validate: impl FnOnce(&Code) -> Result<V, E>,
        new_grant: impl FnOnce(&Code) -> Grant,
    ) -> Result<Redeem<(Code, GrantId, V)>, E> {
        let mut inner = self.lock();
        let Some(record) = inner.codes.get(code) else { return Ok(Redeem::Unknown) };
        bound(record)?;
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
        let checked = validate(record)?;
        let record = record.clone();
        let grant = new_grant(&record);
        let id = inner.insert_grant(grant, self.max_grants_per_user, self.faults);
        if let Some(stored) = inner.codes.get_mut(code) {
            stored.redeemed = Some(id);
        }
        Ok(Redeem::Ok((record, id, checked)))
    }

    // --- grants, refresh and access tokens ----------------------------------------------

    /// Records a grant (implicit flow, code redemption) and drops the user's oldest one beyond
    /// the cap.
    pub fn add_grant(&self, grant: Grant) -> GrantId {
        self.lock().insert_grant(grant, self.max_grants_per_user, self.faults)
    }

    pub fn grant(&self, id: GrantId) -> Option<Grant> {
        self.lock().grants.get(&id).map(|r| r.grant.clone())
    }

    /// A refresh token of `grant`'s current generation, valid until `expires` (starting the
    /// family at its first token). A grant revoked meanwhile gets a token that opens to nothing.
    pub fn issue_refresh_token(&self, grant: GrantId, expires: u64) -> String {
        let mut inner = self.lock();
        let mut generation = 0;
        if let Some(record) = inner.grants.get_mut(&grant) {
            let started = record.family.is_none();
            let family = record.family.get_or_insert(Family { generation: 0, expires });
            family.expires = expires;
            generation = family.generation;
            inner.grants.extend(&grant, expires);
            inner.refresh_families += usize::from(started);
        }
        self.sealer.seal(Kind::Refresh, grant, generation)
    }

    /// The `jti` (or opaque value) of a user access token of `grant` valid until `expires`; the
    /// grant stays alive at least as long. A grant revoked meanwhile gets an id that resolves to
    /// nothing: the token is dead on arrival, as if revoked right after it was issued.
    pub fn access_token_id(&self, grant: GrantId, expires: u64) -> String {
        let mut inner = self.lock();
        // The expiry index is the one home of when a grant ends (`Grant.expires` only starts it).
        inner.grants.extend(&grant, expires);
        self.sealer.seal(Kind::Access, grant, expires)
    }

    /// Uses a refresh token (RFC 9700 §4.14.2): with `rotate`, its generation is used up (the
    /// caller issues the next one with `issue_refresh_token`); without, it stays valid. Under
    /// the lock, `bound` (the client binding) runs first, so only the rightful client presenting
    /// a rotated-away token revokes the whole family; then `validate` (scope), before the token
    /// is consumed.
    pub fn use_refresh_token<V, E>(
        &self,
        token: &str,
        now: u64,
        rotate: bool,
        bound: impl FnOnce(&Grant) -> Result<(), E>,
        validate: impl FnOnce(&Grant) -> Result<V, E>,
    ) -> Result<Redeem<(GrantId, Grant, V)>, E> {
        let Some((id, generation)) = self.sealer.open(Kind::Refresh, token) else { return Ok(Redeem::Unknown) };
        let mut inner = self.lock();
        let Some(record) = inner.grants.get(&id) else { return Ok(Redeem::Unknown) };
        let Some(family) = record.family else { return Ok(Redeem::Unknown) };
        bound(&record.grant)?;
        let reused = generation < family.generation;
        if reused && !self.faults.has(Fault::RefreshReuseNotDetected) {
            inner.revoke_grant(id);
            return Ok(Redeem::Replayed);
        }
        if generation > family.generation {
            return Ok(Redeem::Unknown);
        }
        if family.expires <= now {
            return Ok(Redeem::Expired);
        }
        let checked = validate(&record.grant)?;
        let grant = record.grant.clone();
        if rotate && let Some(family) = inner.grants.get_mut(&id).and_then(|r| r.family.as_mut()) {
            family.generation += 1;
        }
        Ok(Redeem::Ok((id, grant, checked)))
    }

    /// The grant behind a user's access token id, if the token is still live.
    pub fn access_token_grant(&self, jti: &str, now: u64) -> Option<Grant> {
        let (grant, _) = self.sealer.open(Kind::Access, jti).filter(|(_, expires)| *expires > now)?;
        self.grant(grant)
    }

    /// RFC 7009: revokes the grant behind a refresh token or access-token id of `client_id`.
    pub fn revoke_token(&self, token_or_jti: &str, client_id: &str) -> Revocation {
        let opened = self.sealer.open(Kind::Refresh, token_or_jti).or_else(|| self.sealer.open(Kind::Access, token_or_jti));
        let Some((grant, _)) = opened else { return Revocation::Unknown };
        let mut inner = self.lock();
        match inner.grants.get(&grant) {
            Some(r) if r.grant.authz.client_id != client_id && !self.faults.has(Fault::RevocationIgnoresClient) => Revocation::OtherClient,
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
        let ids: Vec<GrantId> = inner.grants.iter().filter(|(_, r)| matches(&r.grant)).map(|(id, _)| *id).collect();
        for id in &ids {
            inner.revoke_grant(*id);
        }
        ids.len()
    }

    /// Drops everything expired, a batch per lock hold, so memory stays bounded and requests
    /// wait for at most one batch.
    pub fn sweep(&self, now: u64) -> Sizes {
        loop {
            let mut inner = self.lock();
            let mut removed = inner.sessions.remove_expired(now, SWEEP_BATCH)
                + inner.codes.remove_expired(now, SWEEP_BATCH)
                + inner.interactions.remove_expired(now, SWEEP_BATCH);
            for (id, record) in inner.grants.pop_expired(now, SWEEP_BATCH) {
                inner.forget_grant(id, record);
                removed += 1;
            }
            if removed == 0 {
                return inner.sizes();
            }
        }
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
        let expires = grant.expires;
        self.grants.insert(id, GrantRecord { grant, family: None }, expires);
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

    /// Removes a grant: every refresh and access token naming it stops resolving at once.
    fn revoke_grant(&mut self, id: GrantId) {
        if let Some(record) = self.grants.remove(&id) {
            self.forget_grant(id, record);
        }
    }

    /// Updates the indexes for a grant that left `grants`.
    fn forget_grant(&mut self, id: GrantId, record: GrantRecord) {
        if record.family.is_some() {
            self.refresh_families -= 1;
        }
        let key = (record.grant.authz.sub, record.grant.authz.client_id);
        if let Some(queue) = self.grants_by_user.get_mut(&key) {
            queue.retain(|g| *g != id);
            if queue.is_empty() {
                self.grants_by_user.remove(&key);
            }
        }
    }

    fn sizes(&self) -> Sizes {
        Sizes {
            sessions: self.sessions.len(),
            interactions: self.interactions.len(),
            codes: self.codes.len(),
            grants: self.grants.len(),
            refresh_families: self.refresh_families,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grant::Authorization;
    use crate::model::request::{AuthRequest, Prompt, ResponseMode, ResponseType};

    fn limits() -> Limits {
        Limits::default()
    }

    fn store() -> Store {
        Store::new(50, limits(), Faults::default())
    }

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

    fn interaction(client: &str, expires: u64) -> Interaction {
        let request = AuthRequest {
            client_id: client.into(),
            redirect_uri: "https://app.example.test/cb".into(),
            response_type: ResponseType::Code,
            response_mode: ResponseMode::Query,
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            acr_values: vec![],
            acr_essential: false,
            amr_values: vec![],
            claims: None,
            resources: Vec::new(),
            org_id: None,
            entra: None,
        };
        Interaction { request, csrf: "c".into(), session: None, expires, failed_codes: 0 }
    }

    fn ok<T>(r: Result<Redeem<T>, ()>) -> T {
        match r {
            Ok(Redeem::Ok(t)) => t,
            _ => panic!("expected success"),
        }
    }

    fn refresh(store: &Store, token: &str, now: u64) -> Result<Redeem<(GrantId, Grant, ())>, ()> {
        store.use_refresh_token(token, now, true, |_| Ok(()), |_| Ok(()))
    }

    #[test]
    fn the_oldest_grant_is_dropped_beyond_the_cap() {
        let store = Store::new(3, limits(), Faults::default());
        let ids: Vec<_> = (0..4).map(|_| store.add_grant(grant("alice", "web"))).collect();
        let other = store.add_grant(grant("alice", "spa"));
        assert!(store.grant(ids[0]).is_none(), "oldest dropped");
        assert!(ids[1..].iter().all(|id| store.grant(*id).is_some()));
        assert!(store.grant(other).is_some(), "the cap is per application");
    }

    #[test]
    fn refresh_reuse_revokes_the_family() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let r1 = store.issue_refresh_token(g, 500);
        let jti = store.access_token_id(g, 500);
        ok(refresh(&store, &r1, 10));
        let r2 = store.issue_refresh_token(g, 500);
        assert_eq!(refresh(&store, &r1, 11), Ok(Redeem::Replayed));
        assert_eq!(refresh(&store, &r2, 12), Ok(Redeem::Unknown));
        assert!(store.access_token_grant(&jti, 12).is_none());
    }

    #[test]
    fn a_token_rotated_away_long_ago_is_still_reuse_and_the_family_costs_one_grant() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let first = store.issue_refresh_token(g, 500);
        let mut token = first.clone();
        for now in 0..10_000 {
            ok(refresh(&store, &token, now % 400));
            token = store.issue_refresh_token(g, 500);
        }
        let sizes = store.sizes();
        assert_eq!((sizes.grants, sizes.refresh_families), (1, 1));
        assert_eq!(refresh(&store, &first, 450), Ok(Redeem::Replayed));
        assert_eq!(refresh(&store, &token, 450), Ok(Redeem::Unknown), "the family is revoked");
    }

    #[test]
    fn a_failed_validation_does_not_consume_the_refresh_token() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let r1 = store.issue_refresh_token(g, 500);
        assert_eq!(store.use_refresh_token::<(), _>(&r1, 10, true, |_| Ok(()), |_| Err("wrong scope")), Err("wrong scope"));
        ok(refresh(&store, &r1, 10));
    }

    #[test]
    fn a_wrong_clients_replay_does_not_revoke() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let r1 = store.issue_refresh_token(g, 500);
        ok(refresh(&store, &r1, 10));
        let r2 = store.issue_refresh_token(g, 500);
        assert_eq!(store.use_refresh_token::<(), _>(&r1, 11, true, |_| Err("another client"), |_| Ok(())), Err("another client"));
        ok(refresh(&store, &r2, 12));
    }

    #[test]
    fn an_expired_family_is_refused_and_a_revoked_grant_opens_nothing() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let r = store.issue_refresh_token(g, 100);
        assert_eq!(refresh(&store, &r, 100), Ok(Redeem::Expired));
        assert_eq!(store.revoke_token(&r, "web"), Revocation::Revoked);
        assert_eq!(refresh(&store, &r, 10), Ok(Redeem::Unknown));
        let dead = store.issue_refresh_token(g, 500);
        assert_eq!(refresh(&store, &dead, 10), Ok(Redeem::Unknown), "issued after revocation: dead on arrival");
    }

    #[test]
    fn sweep_drops_expired_entries() {
        let store = store();
        let g = store.add_grant(Grant { authz: authz("alice", "web"), created: 0, expires: 50 });
        let _ = store.issue_refresh_token(g, 100);
        let live = store.add_grant(Grant { authz: authz("bob", "web"), created: 0, expires: 1000 });
        let jti = store.access_token_id(live, 1000);
        store.put_interaction("i".into(), interaction("web", 100));
        let sizes = store.sweep(200);
        assert_eq!((sizes.grants, sizes.refresh_families, sizes.interactions), (1, 0, 0));
        assert!(store.access_token_grant(&jti, 200).is_some());
    }

    #[test]
    fn a_sweep_of_many_entries_removes_them_all_in_batches() {
        let store = store();
        for i in 0..(3 * SWEEP_BATCH + 7) {
            store.put_code(
                format!("c{i}"),
                Code {
                    authz: authz("alice", "web"),
                    redirect_uri: "https://app.example.test/cb".into(),
                    code_challenge: None,
                    nonce: None,
                    expires: 10,
                    redeemed: None,
                },
            );
        }
        assert_eq!(store.sweep(10).codes, 0);
    }

    #[test]
    fn revocation_is_refused_for_another_clients_token() {
        let store = store();
        let g = store.add_grant(grant("alice", "web"));
        let r = store.issue_refresh_token(g, 500);
        assert_eq!(store.revoke_token(&r, "spa"), Revocation::OtherClient);
        assert_eq!(store.revoke_token(&r, "web"), Revocation::Revoked);
        assert_eq!(store.revoke_token(&r, "web"), Revocation::Unknown);
        assert_eq!(store.revoke_token("not-a-handle", "web"), Revocation::Unknown);
    }

    #[test]
    fn beyond_its_interaction_cap_a_client_loses_its_own_oldest() {
        let limits = Limits { max_interactions_per_client: 3, ..Limits::default() };
        let store = Store::new(50, limits, Faults::default());
        store.put_interaction("b0".into(), interaction("b", 100));
        for i in 0..5 {
            store.put_interaction(format!("a{i}"), interaction("a", 100));
        }
        assert!(store.interaction("a0", 0).is_none() && store.interaction("a1", 0).is_none(), "a's oldest went");
        assert!(["a2", "a3", "a4", "b0"].iter().all(|i| store.interaction(i, 0).is_some()), "another client's stays");
        assert!(store.take_interaction("a3").is_some());
        store.put_interaction("a5".into(), interaction("a", 100));
        assert!(store.interaction("a2", 0).is_some(), "taking one freed a slot: nothing dropped");
        assert_eq!(store.sweep(100).interactions, 0);
    }

    #[test]
    fn beyond_the_global_interaction_cap_the_oldest_is_dropped() {
        let limits = Limits { max_interactions: 3, ..Limits::default() };
        let store = Store::new(50, limits, Faults::default());
        for i in 0..5u64 {
            store.put_interaction(format!("i{i}"), interaction(if i % 2 == 0 { "a" } else { "b" }, 100 + i));
        }
        assert_eq!(store.sizes().interactions, 3);
        assert!(store.interaction("i1", 0).is_none() && store.interaction("i2", 0).is_some());
        let limits = Limits { max_interactions: 3, max_interactions_per_client: 2, ..Limits::default() };
        let store = Store::new(50, limits, Faults::default());
        for id in ["a0", "a1", "b0", "b1"] {
            store.put_interaction(id.into(), interaction(&id[..1], 100));
        }
        assert!(store.interaction("a0", 0).is_none(), "b1 evicted a0");
        store.put_interaction("a2".into(), interaction("a", 100));
        assert!(store.interaction("a1", 0).is_none(), "a1 was the oldest in all");
        assert!(store.interaction("a2", 0).is_some());
    }

    #[test]
    fn one_user_signing_in_again_and_again_ends_only_its_own_sessions() {
        let limits = Limits { max_sessions_per_user: 2, ..Limits::default() };
        let store = Store::new(50, limits, Faults::default());
        let session = |sub: &str| Session { sub: sub.into(), auth_time: 0, amr: vec![], expires: 100, consents: Default::default() };
        store.put_session("bob".into(), session("bob"));
        for i in 0..5 {
            store.put_session(format!("alice{i}"), session("alice"));
        }
        assert!(store.session("bob", 0).is_some(), "another user's session stays");
        assert!(store.session("alice2", 0).is_none() && store.session("alice4", 0).is_some());
        assert_eq!(store.sizes().sessions, 3);
    }

    #[test]
    fn sessions_and_codes_are_capped_oldest_first() {
        let limits = Limits { max_sessions: 2, max_codes: 2, ..Limits::default() };
        let store = Store::new(50, limits, Faults::default());
        for i in 0..3u64 {
            let session = Session { sub: "s".into(), auth_time: 0, amr: vec![], expires: 100 + i, consents: Default::default() };
            store.put_session(format!("s{i}"), session);
        }
        assert!(store.session("s0", 0).is_none() && store.session("s2", 0).is_some());
        assert_eq!(store.sizes().sessions, 2);
    }
}
