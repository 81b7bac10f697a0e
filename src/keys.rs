//! The key directory: private Ed25519 keys as PKCS#8 v1 PEM files (`<kid>.pem`, mode 0600), loaded into
//! memory for signing. Private key bytes never leave this module except as a `SigningKey` to sign with.

use crate::domain::signing::{kid_of, kid_string, parse_private_key_pem, private_key_pem};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The public log's own key, beside the certificate signing keys (never used to sign certificates).
pub const LOG_KEY_FILE: &str = "transparency-log.pem";

/// A witness's cosigning key (`ecolabel witness serve`), in the witness's own key directory.
pub const WITNESS_KEY_FILE: &str = "witness.pem";

/// The log key from the key directory, made (PKCS#8 v1 PEM, mode 0600) when it is not there yet.
pub fn log_key(dir: &Path) -> Result<SigningKey, String> {
    own_key(dir, LOG_KEY_FILE, "the public log's key")
}

/// The witness key from its key directory, made when it is not there yet.
pub fn witness_key(dir: &Path) -> Result<SigningKey, String> {
    own_key(dir, WITNESS_KEY_FILE, "the witness's key")
}

/// The key that seals secrets at rest (TOTP and webhook secrets), beside the signing keys.
pub const SEALING_KEY_FILE: &str = "secrets.key";

/// The sealing key from the key directory (32 random bytes, base64, mode 0600), made when it is not there
/// yet. Back it up with the signing keys: without it, sealed secrets cannot be opened.
pub fn sealing_key(dir: &Path) -> Result<[u8; 32], String> {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let path = dir.join(SEALING_KEY_FILE);
    if path.exists() {
        check_mode(&path);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bytes = B64.decode(text.trim()).map_err(|_| format!("{} is not base64", path.display()))?;
        return bytes.try_into().map_err(|_| format!("{} does not hold a 32-byte key", path.display()));
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    write_secret_file(dir, &path, format!("{}\n", B64.encode(key)).as_bytes())?;
    tracing::warn!(path = %path.display(), "generated the key that seals secrets at rest (back up the key directory)");
    Ok(key)
}

fn own_key(dir: &Path, file: &str, what: &str) -> Result<SigningKey, String> {
    let path = dir.join(file);
    if path.exists() {
        check_mode(&path);
        return read_key(&path);
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    write_private(dir, &path, &key)?;
    tracing::warn!(path = %path.display(), "generated {what} (back up the key directory)");
    Ok(key)
}

/// The log key, if the key directory holds it (offline checks never create one).
pub fn log_key_if_present(dir: &Path) -> Result<Option<SigningKey>, String> {
    let path = dir.join(LOG_KEY_FILE);
    if path.exists() {
        read_key(&path).map(Some)
    } else {
        Ok(None)
    }
}

fn write_private(dir: &Path, path: &Path, key: &SigningKey) -> Result<(), String> {
    let pem = private_key_pem(key)?;
    write_secret_file(dir, path, pem.as_bytes())
}

/// Write a new file of secret bytes (mode 0600, in a directory of mode 0700); never over an existing one.
fn write_secret_file(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the key directory {}: {e}", dir.display()))?;
    set_mode(dir, 0o700);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub struct Keyring {
    dir: PathBuf,
    keys: RwLock<BTreeMap<String, SigningKey>>,
}

fn read_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_private_key_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
}

impl Keyring {
    /// Read every `*.pem` in `dir` (which need not exist yet).
    pub fn load(dir: &Path) -> Result<Keyring, String> {
        let mut keys = BTreeMap::new();
        if dir.exists() {
            let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the key directory {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let own = [LOG_KEY_FILE, WITNESS_KEY_FILE].iter().any(|f| path.file_name() == Some(f.as_ref()));
                if path.extension().and_then(|e| e.to_str()) != Some("pem") || own {
                    continue;
                }
                let key = read_key(&path)?;
                check_mode(&path);
                keys.insert(kid_string(&kid_of(&key.verifying_key())), key);
            }
        }
        Ok(Keyring {
            dir: dir.to_path_buf(),
            keys: RwLock::new(keys),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make a new key and write it as `<kid>.pem`, readable by the owner only.
    pub fn generate(&self) -> Result<(String, VerifyingKey), String> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let kid = kid_string(&kid_of(&key.verifying_key()));
        let path = self.dir.join(format!("{kid}.pem"));
        write_private(&self.dir, &path, &key)?;
        let public = key.verifying_key();
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(kid.clone(), key);
        Ok((kid, public))
    }

    /// The private key of `kid`, reading the directory again if another process added it.
    pub fn get(&self, kid: &str) -> Option<SigningKey> {
        if let Some(k) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(kid) {
            return Some(k.clone());
        }
        let path = self.dir.join(format!("{kid}.pem"));
        let key = read_key(&path).ok()?;
        if kid_string(&kid_of(&key.verifying_key())) != kid {
            return None;
        }
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(kid.to_string(), key.clone());
        Some(key)
    }

    pub fn kids(&self) -> Vec<String> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    pub fn public_keys(&self) -> Vec<VerifyingKey> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|k| k.verifying_key())
            .collect()
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}
#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[cfg(unix)]
fn check_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "private key file is readable by others; setting mode 0600");
            set_mode(path, 0o600);
        }
    }
}
#[cfg(not(unix))]
fn check_mode(_: &Path) {}

/// Write the key files of a backup (a zip of the key directory's files) into `dir`, each mode 0600; never
/// over a file that is there.
pub fn restore_files(dir: &Path, zip_bytes: &[u8]) -> Result<(), String> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).map_err(|e| format!("the backup's keys: {e}"))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("the backup's keys: {e}"))?;
        let name = entry.name().to_string();
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(format!("the backup's keys hold an unexpected name {name}"));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| format!("the backup's keys: {e}"))?;
        write_secret_file(dir, &dir.join(&name), &bytes)?;
    }
    Ok(())
}
