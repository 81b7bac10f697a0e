// Published criteria versions: each scheme version is stored once with its SHA-256 and text,
// and a later start with a different file for the same version is refused.

use super::schema::criteria_versions as cv;
use super::{now, DbConn, Error, Result};
use crate::domain::criteria::Scheme;
use diesel::prelude::*;

/// Record `scheme` as published; `Ok(true)` if it is new, an error if the stored one differs.
pub fn register(conn: &mut DbConn, scheme: &Scheme) -> Result<bool> {
    let stored: Option<String> = cv::table
        .filter(cv::scheme.eq(&scheme.scheme))
        .filter(cv::version.eq(scheme.version))
        .select(cv::sha256)
        .first(conn)
        .optional()?;
    match stored {
        Some(h) if h == scheme.sha256 => Ok(false),
        Some(h) => Err(Error::conflict(
            "criteria_changed",
            format!(
                "{} version {} was published with SHA-256 {h}, but the file now hashes to {}: publish changes as a new version",
                scheme.scheme, scheme.version, scheme.sha256
            ),
        )),
        None => {
            diesel::insert_into(cv::table)
                .values((
                    cv::scheme.eq(&scheme.scheme),
                    cv::version.eq(scheme.version),
                    cv::sha256.eq(&scheme.sha256),
                    cv::content.eq(&scheme.source),
                    cv::registered_at.eq(now()),
                ))
                .execute(conn)?;
            Ok(true)
        }
    }
}

/// The stored text of every published version (so old versions stay known if their file is gone).
pub fn all(conn: &mut DbConn) -> Result<Vec<(String, i32, String, String)>> {
    Ok(cv::table.select((cv::scheme, cv::version, cv::sha256, cv::content)).load(conn)?)
}
