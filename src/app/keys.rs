// Signing keys as operations: who may see them and rotate (admins, and the command line as `system`);
// a rotation publishes the new key and retires the active one in one transaction, so one key signs.

use super::{Error, Result};
use crate::domain::auth::{Caller, Role};
use crate::storage::models::SigningKeyRow;
use crate::storage::{keys, DbConn};

/// Admins, and the command line (`Caller::system` holds the admin role).
fn admin_or_system(caller: &Caller) -> Result<()> {
    if caller.has(Role::Admin) {
        Ok(())
    } else {
        Err(Error::forbidden("forbidden_role", "this needs the role admin"))
    }
}

/// Every key the registry has published, with its status and dates.
pub fn list(conn: &mut DbConn, caller: &Caller) -> Result<Vec<SigningKeyRow>> {
    admin_or_system(caller)?;
    Ok(keys::all(conn)?)
}

/// Publish a new key (its private half is already in the key directory) and make it the one that signs;
/// the key that signed until now is retired and stays published, so what it signed keeps verifying.
pub fn rotate(conn: &mut DbConn, caller: &Caller, kid: &str, public_key: &[u8]) -> Result<()> {
    admin_or_system(caller)?;
    Ok(keys::register(conn, caller, kid, public_key, true)?)
}

/// The key that signs now, if any.
pub fn active(conn: &mut DbConn) -> Result<Option<SigningKeyRow>> {
    Ok(keys::active(conn)?)
}

/// Publish a new key: the one that signs when `activate` (the first key) or a pending one until a
/// rotation (`keys generate` while another key signs).
pub fn publish(conn: &mut DbConn, caller: &Caller, kid: &str, public_key: &[u8], activate: bool) -> Result<()> {
    admin_or_system(caller)?;
    Ok(keys::register(conn, caller, kid, public_key, activate)?)
}

/// Retire a key: it no longer signs, and stays published so what it signed keeps verifying.
pub fn retire(conn: &mut DbConn, caller: &Caller, kid: &str) -> Result<()> {
    admin_or_system(caller)?;
    Ok(keys::retire(conn, caller, kid)?)
}
