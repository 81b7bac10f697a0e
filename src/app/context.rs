// The application context: what every operation needs besides its input (database, criteria catalogue,
// signing keys, the log key, configuration), built once; web, CLI, demo, seed, batch and workers share it.

use super::certificates::IssueContext;
use super::{Error, Result};
use crate::config::Config;
use crate::domain::criteria::Catalogue;
use crate::domain::log::LogKey;
use crate::keys::Keyring;
use crate::storage::{self, Db};
use std::sync::Arc;

#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub catalogue: Arc<Catalogue>,
    pub keyring: Arc<Keyring>,
    pub config: Arc<Config>,
    /// The public log's signing key (checkpoints).
    pub log_key: LogKey,
    /// The time the rules are judged at.
    pub clock: super::clock::Clock,
    /// Seals and opens secrets at rest (TOTP and webhook secrets) with the key directory's sealing key.
    pub sealer: Arc<crate::domain::seal::Sealer>,
    /// The read replica for public reads (`--read-database-url`), if any.
    pub reads: Option<Arc<super::replica::ReadReplica>>,
}

impl Context {
    /// Where a public read goes now: the read replica while it is fresh (super::replica), else the primary.
    pub fn public_db(&self) -> &Db {
        match &self.reads {
            Some(r) if r.fresh() => {
                crate::metrics::get().public_reads.with_label_values(&["replica"]).inc();
                &r.db
            }
            Some(_) => {
                crate::metrics::get().public_reads.with_label_values(&["primary"]).inc();
                &self.db
            }
            None => &self.db,
        }
    }

    /// This process changed something the public pages show: reads go to the primary until the replica
    /// holds the change.
    pub fn public_changed(&self) {
        if let Some(r) = &self.reads {
            r.changed();
        }
    }
}

impl Context {
    /// Seal a secret for storing (a fresh random nonce).
    pub fn seal(&self, purpose: crate::domain::seal::Purpose, plaintext: &str) -> Result<String> {
        self.sealer
            .seal(purpose, plaintext, rand::random())
            .map_err(|e| Error::Storage(storage::Error::Internal(e)))
    }
}

impl Context {
    /// The issuing context with the active signing key; `Unavailable` (503) if no key can sign.
    pub async fn issue_context(&self) -> Result<IssueContext> {
        let active = self.db.read(storage::keys::active).await?;
        self.issue_context_of(active)
    }

    /// The same, for callers already off the async workers (CLI, demo, seed).
    pub fn issue_context_blocking(&self) -> Result<IssueContext> {
        let active = self.db.read_blocking(storage::keys::active)?;
        self.issue_context_of(active)
    }

    fn issue_context_of(&self, active: Option<storage::models::SigningKeyRow>) -> Result<IssueContext> {
        let Some(row) = active else {
            tracing::error!("no active signing key: run `ecolabel keys generate`");
            return Err(Error::Storage(storage::Error::Unavailable("no active signing key".into())));
        };
        let Some(key) = self.keyring.get(&row.kid) else {
            tracing::error!(kid = %row.kid, dir = %self.keyring.dir().display(), "the active signing key is not in the key directory");
            return Err(Error::Storage(storage::Error::Unavailable(
                "the active signing key is not in the key directory".into(),
            )));
        };
        Ok(self.issue_context_with(row.kid, key))
    }

    /// The issuing context for a given key (the configuration's issuer, signatory and validity).
    pub fn issue_context_with(&self, kid: String, key: ed25519_dalek::SigningKey) -> IssueContext {
        let c = &self.config;
        IssueContext {
            key,
            kid,
            public_url: c.public_url.clone(),
            issuer: c.issuer_name.clone(),
            issuer_address: c.issuer_address.clone(),
            signatory: c.signatory.clone(),
            signatory_title: c.signatory_title.clone(),
            validity_months: c.validity_months,
            surveillance_months: c.surveillance_months,
            issued_on: None,
            log: self.log_key.clone(),
        }
    }
}
