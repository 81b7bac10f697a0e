// Secrets at rest: at start, TOTP and webhook secrets stored in the clear by an earlier version are sealed
// with the key directory's sealing key (the data step of the sealing migration); new ones are sealed as made.

use crate::domain::seal::{Purpose, Sealer, PREFIX};
use crate::storage::{self, accounts, webhooks, Db};

/// Seal every secret still stored in the clear; how many were sealed. Idempotent, and safe with replicas
/// starting together (each row is replaced only if it is still what was read).
pub fn seal_stored_secrets(db: &Db, sealer: &Sealer) -> Result<usize, storage::Error> {
    db.write_blocking(|c| {
        let mut sealed = 0;
        let seal = |purpose, v: &str| sealer.seal(purpose, v, rand::random()).map_err(storage::Error::Internal);
        for (id, secret, pending) in accounts::unsealed_totp(c, PREFIX)? {
            let reseal = |v: &Option<String>| -> Result<Option<String>, storage::Error> {
                match v {
                    Some(v) if !Sealer::is_sealed(v) => seal(Purpose::Totp, v).map(Some),
                    other => Ok(other.clone()),
                }
            };
            let now = (reseal(&secret)?, reseal(&pending)?);
            if accounts::reseal_totp(c, id, (secret.as_deref(), pending.as_deref()), (now.0.as_deref(), now.1.as_deref()))? {
                sealed += usize::from(secret != now.0) + usize::from(pending != now.1);
            }
        }
        for (id, secret) in webhooks::unsealed(c, PREFIX)? {
            if webhooks::reseal(c, id, &secret, &seal(Purpose::Webhook, &secret)?)? {
                sealed += 1;
            }
        }
        Ok(sealed)
    })
}
