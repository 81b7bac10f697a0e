// Online verification for the public pages: the published public keys (read from the database, cached,
// re-read on an unknown kid) and a bounded cache of tokens already verified (signatures never change).

use crate::app::Db;
use crate::domain::signing::{self, Failure, Kid, Verified};
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::sync::RwLock;

const MAX_CACHED_TOKENS: usize = 10_000;

#[derive(Default)]
pub struct Verifier {
    keys: RwLock<HashMap<Kid, VerifyingKey>>,
    verified: RwLock<HashMap<Vec<u8>, Verified>>,
}

impl Verifier {
    fn key(&self, kid: &Kid) -> Option<VerifyingKey> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid).copied()
    }

    async fn reload(&self, db: &Db) -> crate::app::Result<()> {
        let rows = crate::app::public::signing_keys(db).await?;
        let mut map = HashMap::new();
        for r in rows {
            if let (Ok(k), Some(kid)) = (signing::parse_public_key(&r.public_key), signing::parse_kid(&r.kid)) {
                map.insert(kid, k);
            }
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// Verify a token: `Ok(Err(_))` is a verdict about the token, `Err(_)` means the registry could not answer.
    pub async fn verify(&self, db: &Db, token: &[u8]) -> crate::app::Result<Result<Verified, Failure>> {
        if let Some(v) = self.verified.read().unwrap_or_else(|p| p.into_inner()).get(token) {
            return Ok(Ok(v.clone()));
        }
        let kid = match signing::token_kid(token) {
            Ok(k) => k,
            Err(f) => return Ok(Err(f)),
        };
        if self.key(&kid).is_none() {
            self.reload(db).await?;
        }
        let result = signing::verify_token(token, |k| self.key(k));
        if let Ok(v) = &result {
            let mut cache = self.verified.write().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= MAX_CACHED_TOKENS {
                cache.clear();
            }
            cache.insert(token.to_vec(), v.clone());
        }
        Ok(result)
    }
}
