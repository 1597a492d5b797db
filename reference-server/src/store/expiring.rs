//! A map whose entries expire, indexed by expiry: the sweep and a full map's eviction touch only
//! the oldest entries, never the whole map (the store's lock is held for a bounded batch).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Where an entry sits in the expiry order: its expiry, then its insertion number (so entries
/// that expire in the same second stay distinct and keep their insertion order).
type Slot = (u64, u64);

#[derive(Debug)]
pub struct Expiring<K, V> {
    entries: HashMap<K, (V, Slot)>,
    by_expiry: BTreeMap<Slot, K>,
    inserted: u64,
}

impl<K, V> Default for Expiring<K, V> {
    fn default() -> Self {
        Expiring { entries: HashMap::new(), by_expiry: BTreeMap::new(), inserted: 0 }
    }
}

impl<K: Hash + Eq + Clone, V> Expiring<K, V> {
    /// Adds (or replaces) `key`, live until `expires`.
    pub fn insert(&mut self, key: K, value: V, expires: u64) {
        self.remove(&key);
        self.inserted += 1;
        let slot = (expires, self.inserted);
        self.by_expiry.insert(slot, key.clone());
        self.entries.insert(key, (value, slot));
    }

    /// The entry, expired or not (the caller judges expiry against its own clock).
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(v, _)| v)
    }

    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.entries.get_mut(key).map(|(v, _)| v)
    }

    /// Moves `key`'s expiry (a grant whose newest token lives longer).
    pub fn extend<Q: Hash + Eq + ?Sized>(&mut self, key: &Q, expires: u64)
    where
        K: Borrow<Q>,
    {
        let Some((_, slot)) = self.entries.get_mut(key) else { return };
        if expires <= slot.0 {
            return;
        }
        let old = *slot;
        self.inserted += 1;
        *slot = (expires, self.inserted);
        let new = *slot;
        if let Some(k) = self.by_expiry.remove(&old) {
            self.by_expiry.insert(new, k);
        }
    }

    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let (value, slot) = self.entries.remove(key)?;
        self.by_expiry.remove(&slot);
        Some(value)
    }

    /// Removes the entry that expires first (for fixed lifetimes: the oldest).
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let (_, key) = self.by_expiry.pop_first()?;
        let (value, _) = self.entries.remove(&key)?;
        Some((key, value))
    }

    /// Removes up to `budget` entries expired at `now`, soonest first; returns them.
    pub fn pop_expired(&mut self, now: u64, budget: usize) -> Vec<(K, V)> {
        let mut out = Vec::new();
        while out.len() < budget {
            match self.by_expiry.first_key_value() {
                Some(((expires, _), _)) if *expires <= now => {}
                _ => break,
            }
            out.extend(self.pop_oldest());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, (v, _))| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_follows_inserts_removals_and_extensions() {
        let mut m = Expiring::default();
        m.insert("a", 1, 30);
        m.insert("b", 2, 10);
        m.insert("c", 3, 20);
        m.extend(&"b", 40);
        assert_eq!(m.remove(&"c"), Some(3));
        assert_eq!(m.pop_oldest(), Some(("a", 1)));
        assert_eq!(m.pop_oldest(), Some(("b", 2)));
        assert_eq!(m.pop_oldest(), None);
        assert_eq!(m.by_expiry.len(), 0);
    }

    #[test]
    fn a_sweep_takes_at_most_its_budget_and_only_expired_entries() {
        let mut m = Expiring::default();
        for i in 0..10u64 {
            m.insert(i, (), i);
        }
        assert_eq!(m.pop_expired(6, 4).len(), 4);
        assert_eq!(m.pop_expired(6, 100).len(), 3, "0..=6 expired at 6");
        assert_eq!(m.len(), 3);
        m.insert(7, (), 100);
        assert_eq!(m.len(), 3, "replacing a key keeps one entry");
        assert_eq!(m.by_expiry.len(), 3);
    }
}
