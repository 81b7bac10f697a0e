// Bounded in-memory caches of response bodies: first in, first out once the bytes kept would pass a budget.
// Used for full log tiles (which never change) and rendered certificate PDFs (keyed by the state they show).

use actix_web::web::Bytes;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

/// What a cached value weighs against the budget.
pub trait Weight {
    fn weight(&self) -> usize;
}

impl Weight for Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// A body with its ETag.
impl Weight for (Bytes, String) {
    fn weight(&self) -> usize {
        self.0.len() + self.1.len()
    }
}

/// Values by key, at most `BUDGET` bytes of them; the oldest go first.
pub struct BodyCache<K, V, const BUDGET: usize> {
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    values: HashMap<K, V>,
    order: VecDeque<K>,
    bytes: usize,
}

impl<K, V, const BUDGET: usize> Default for BodyCache<K, V, BUDGET> {
    fn default() -> Self {
        BodyCache {
            inner: Mutex::new(Inner {
                values: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Weight + Clone, const BUDGET: usize> BodyCache<K, V, BUDGET> {
    pub fn get(&self, key: &K) -> Option<V> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).values.get(key).cloned()
    }

    pub fn put(&self, key: K, value: V) {
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let weight = value.weight();
        if c.values.contains_key(&key) || weight > BUDGET {
            return;
        }
        while c.bytes + weight > BUDGET {
            let Some(old) = c.order.pop_front() else { break };
            if let Some(v) = c.values.remove(&old) {
                c.bytes -= v.weight();
            }
        }
        c.bytes += weight;
        c.order.push_back(key.clone());
        c.values.insert(key, value);
    }
}
