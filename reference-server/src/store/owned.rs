//! An expiring map whose entries each belong to an owner (a client, a user), capped per owner
//! and in all: beyond an owner's cap that owner's own oldest entry goes, so one owner's flood
//! costs only its own entries; beyond the total cap the oldest of all goes.

use super::expiring::Expiring;
use std::collections::{HashMap, VecDeque};

pub struct Owned<V> {
    entries: Expiring<String, (V, String)>,
    /// Each owner's entry ids, oldest first.
    by_owner: HashMap<String, VecDeque<String>>,
    per_owner: usize,
    total: usize,
}

impl<V> Owned<V> {
    pub fn new(per_owner: usize, total: usize) -> Owned<V> {
        Owned { entries: Expiring::default(), by_owner: HashMap::new(), per_owner, total }
    }

    /// Adds (or replaces) `id`, owned by `owner`, live until `expires`; drops what the caps say.
    pub fn insert(&mut self, id: String, value: V, owner: String, expires: u64) {
        self.remove(&id);
        self.entries.insert(id.clone(), (value, owner.clone()), expires);
        let queue = self.by_owner.entry(owner).or_default();
        queue.push_back(id);
        let over = queue.len().saturating_sub(self.per_owner);
        let dropped: Vec<String> = queue.drain(..over).collect();
        for old in dropped {
            self.entries.remove(&old);
        }
        while self.entries.len() > self.total {
            match self.entries.pop_oldest() {
                Some((old, (_, owner))) => self.forget(&owner, &old),
                None => break,
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.entries.get(id).map(|(v, _)| v)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut V> {
        self.entries.get_mut(id).map(|(v, _)| v)
    }

    pub fn remove(&mut self, id: &str) -> Option<V> {
        let (value, owner) = self.entries.remove(id)?;
        self.forget(&owner, id);
        Some(value)
    }

    /// Removes up to `budget` entries expired at `now`; returns how many.
    pub fn remove_expired(&mut self, now: u64, budget: usize) -> usize {
        let expired = self.entries.pop_expired(now, budget);
        for (id, (_, owner)) in &expired {
            self.forget(owner, id);
        }
        expired.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops `id` from its owner's queue. The entries that leave are mostly the owner's oldest
    /// (sweep, eviction), found at the front.
    fn forget(&mut self, owner: &str, id: &str) {
        if let Some(queue) = self.by_owner.get_mut(owner) {
            if let Some(at) = queue.iter().position(|i| i == id) {
                queue.remove(at);
            }
            if queue.is_empty() {
                self.by_owner.remove(owner);
            }
        }
    }

    #[cfg(test)]
    pub fn owners(&self) -> usize {
        self.by_owner.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_beyond_its_cap_loses_its_own_oldest_and_the_total_cap_the_oldest_of_all() {
        let mut m = Owned::new(2, 3);
        m.insert("b0".into(), (), "b".into(), 10);
        for i in 0..3 {
            m.insert(format!("a{i}"), (), "a".into(), 20 + i);
        }
        assert!(m.get("a0").is_none() && m.get("a1").is_some() && m.get("b0").is_some(), "a's oldest went");
        m.insert("c0".into(), (), "c".into(), 30);
        assert!(m.get("b0").is_none(), "the oldest of all went");
        assert_eq!(m.len(), 3);
        assert_eq!(m.remove_expired(21, 10), 1, "a1 expired");
        assert_eq!(m.remove("c0"), Some(()));
        assert_eq!((m.len(), m.owners()), (1, 1), "the owner index follows every removal");
        m.insert("a2".into(), (), "a".into(), 40);
        assert_eq!(m.len(), 1, "replacing an id keeps one entry");
    }
}
