// A witness's memory (`ecolabel witness serve`, its own SQLite file, not the registry's schema): for each log
// by origin the latest checkpoint it cosigned, checked and updated in one IMMEDIATE transaction.

use crate::domain::log::Hash;
use crate::domain::witness::Seen;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text};
use std::path::Path;

pub struct Store {
    conn: SqliteConnection,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    size: i64,
    #[diesel(sql_type = Binary)]
    root: Vec<u8>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let url = path.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
        let mut conn = SqliteConnection::establish(url).map_err(|e| format!("cannot open the witness state {url}: {e}"))?;
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS witnessed (origin TEXT PRIMARY KEY NOT NULL, size BIGINT NOT NULL, root BLOB NOT NULL, updated_at TEXT NOT NULL);",
        )
        .map_err(|e| format!("cannot prepare the witness state {url}: {e}"))?;
        Ok(Store { conn })
    }

    /// In one IMMEDIATE transaction: read what was cosigned for `origin`, let `decide` judge it, and store
    /// the new checkpoint it accepts before returning (tlog-witness: persist before answering, atomically).
    pub fn advance<T>(
        &mut self,
        origin: &str,
        decide: impl FnOnce(Option<Seen>) -> Result<(Seen, T), crate::domain::witness::Refusal>,
    ) -> Result<Result<T, crate::domain::witness::Refusal>, String> {
        self.conn
            .immediate_transaction(|c| {
                let row: Option<Row> = diesel::sql_query("SELECT size, root FROM witnessed WHERE origin = ?")
                    .bind::<Text, _>(origin)
                    .get_result(c)
                    .optional()?;
                let seen = match row {
                    Some(r) => {
                        let root: [u8; 32] = r
                            .root
                            .try_into()
                            .map_err(|_| diesel::result::Error::DeserializationError("a stored root is not 32 bytes".into()))?;
                        Some(Seen {
                            size: r.size as u64,
                            root: Hash(root),
                        })
                    }
                    None => None,
                };
                let (new, out) = match decide(seen) {
                    Ok(d) => d,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                diesel::sql_query(
                    "INSERT INTO witnessed (origin, size, root, updated_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, updated_at = excluded.updated_at",
                )
                .bind::<Text, _>(origin)
                .bind::<BigInt, _>(new.size as i64)
                .bind::<Binary, _>(new.root.0.to_vec())
                .bind::<Text, _>(chrono::Utc::now().to_rfc3339())
                .execute(c)?;
                Ok(Ok(out))
            })
            .map_err(|e: diesel::result::Error| format!("the witness state: {e}"))
    }
}
