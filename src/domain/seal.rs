//! Secrets at rest: TOTP and webhook secrets sealed with XChaCha20-Poly1305 under a key of the key
//! directory, bound to what they are (the associated data), so a database dump alone reveals none of them.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Sealed values start with this; a stored value without it is from before sealing (sealed at start).
pub const PREFIX: &str = "sealed:v1:";

/// What a sealed value is, as associated data: a TOTP secret cannot be moved into a webhook's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Totp,
    Webhook,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::Totp => b"ecolabel totp secret",
            Purpose::Webhook => b"ecolabel webhook secret",
        }
    }
}

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Seal with a fresh random nonce: `sealed:v1:` + base64(nonce || ciphertext and tag).
    pub fn seal(&self, purpose: Purpose, plaintext: &str, nonce: [u8; 24]) -> Result<String, String> {
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: purpose.aad(),
                },
            )
            .map_err(|_| "cannot seal a secret".to_string())?;
        Ok(format!("{PREFIX}{}", B64.encode([&nonce[..], &ct].concat())))
    }

    /// Open a stored value; a value from before sealing is returned as it is.
    pub fn open(&self, purpose: Purpose, stored: &str) -> Result<String, String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let raw = B64.decode(b64).map_err(|_| "a sealed secret is not base64".to_string())?;
        if raw.len() < 24 + 16 {
            return Err("a sealed secret is too short".into());
        }
        let (nonce, ct) = raw.split_at(24);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: purpose.aad() })
            .map_err(|_| "a sealed secret does not open with the key directory's sealing key".to_string())?;
        String::from_utf8(pt).map_err(|_| "a sealed secret is not text".to_string())
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

/// A box sealed with a key made from a passphrase (argon2id, 19 MiB, 2 passes) and XChaCha20-Poly1305:
/// how backups keep the key directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassphraseBox {
    pub kdf: String,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

fn passphrase_key(passphrase: &str, salt: &[u8]) -> Result<[u8; 32], String> {
    let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).map_err(|e| e.to_string())?;
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| format!("argon2: {e}"))?;
    Ok(key)
}

const PASSPHRASE_AAD: &[u8] = b"ecolabel backup key directory";

/// Seal `plaintext` under `passphrase` (random `salt` and `nonce` given).
pub fn seal_with_passphrase(passphrase: &str, plaintext: &[u8], salt: [u8; 16], nonce: [u8; 24]) -> Result<PassphraseBox, String> {
    let cipher = XChaCha20Poly1305::new(&passphrase_key(passphrase, &salt)?.into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: PASSPHRASE_AAD,
            },
        )
        .map_err(|_| "cannot seal".to_string())?;
    Ok(PassphraseBox {
        kdf: "argon2id;m=19456,t=2,p=1".into(),
        salt: B64.encode(salt),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ct),
    })
}

/// Open a box sealed with `seal_with_passphrase`; a wrong passphrase is an error that says so.
pub fn open_with_passphrase(passphrase: &str, sealed: &PassphraseBox) -> Result<Vec<u8>, String> {
    if sealed.kdf != "argon2id;m=19456,t=2,p=1" {
        return Err(format!("unknown key derivation {}", sealed.kdf));
    }
    let b = |s: &str| B64.decode(s).map_err(|_| "the sealed key directory is damaged (not base64)".to_string());
    let (salt, nonce, ct) = (b(&sealed.salt)?, b(&sealed.nonce)?, b(&sealed.ciphertext)?);
    if nonce.len() != 24 {
        return Err("the sealed key directory is damaged (nonce)".into());
    }
    let cipher = XChaCha20Poly1305::new(&passphrase_key(passphrase, &salt)?.into());
    cipher
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: PASSPHRASE_AAD })
        .map_err(|_| "the passphrase does not open the backup's key directory (wrong passphrase, or a damaged file)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passphrase_box_opens_with_its_passphrase_only() {
        let b = seal_with_passphrase("correct horse battery staple", b"keys", [1; 16], [2; 24]).unwrap();
        assert_eq!(open_with_passphrase("correct horse battery staple", &b).unwrap(), b"keys");
        assert!(open_with_passphrase("wrong horse", &b).unwrap_err().contains("passphrase"));
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_purpose() {
        let s = Sealer::new(&[1; 32]);
        let sealed = s.seal(Purpose::Totp, "JBSWY3DPEHPK3PXP", [2; 24]).unwrap();
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(s.open(Purpose::Totp, &sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        assert!(s.open(Purpose::Webhook, &sealed).is_err(), "bound to its purpose");
        assert!(Sealer::new(&[3; 32]).open(Purpose::Totp, &sealed).is_err(), "another key does not open it");
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(s.open(Purpose::Totp, &String::from_utf8(bytes).unwrap()).is_err(), "an altered value fails");
        assert_eq!(s.open(Purpose::Totp, "legacy-plaintext").unwrap(), "legacy-plaintext");
        assert_ne!(sealed, s.seal(Purpose::Totp, "JBSWY3DPEHPK3PXP", [4; 24]).unwrap(), "a fresh nonce each time");
    }
}
