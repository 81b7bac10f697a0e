//! Witnessing the public log: C2SP tlog-cosignature (`cosignature/v1`, Ed25519, type 0x04) written and
//! verified, the tlog-witness `add-checkpoint` request and the witness's decision, and tlog-proof bundles.

use crate::domain::log::{decode_hashes, encode_hashes, leaf_hash, Checkpoint, Entry, Hash};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, NoteError, Signature, StandardVerifier, Verifier, VerifierList};

/// The signature type of Ed25519 cosignatures in key ids and verifier keys.
const COSIGNATURE_V1: u8 = 0x04;
/// The first line of a tlog-proof bundle.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// At most this many consistency proof lines in a request (tlog-witness).
const MAX_PROOF_LINES: usize = 63;

fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &[&[COSIGNATURE_V1][..], key.as_bytes()].concat())
}

/// The message a `cosignature/v1` signs: the header, the time, then the checkpoint's note text.
fn signed_message(time: u64, text: &[u8]) -> Vec<u8> {
    [format!("cosignature/v1\ntime {time}\n").as_bytes(), text].concat()
}

/// A witness's own key: it cosigns checkpoints under its name.
pub struct CosignerKey {
    name: String,
    key: SigningKey,
    id: u32,
}

impl CosignerKey {
    pub fn new(name: &str, key: SigningKey) -> Result<CosignerKey, String> {
        if !signed_note::is_key_name_valid(name) {
            return Err(format!("`{name}` is not a key name (no spaces, no `+`)"));
        }
        let id = key_id(name, &key.verifying_key());
        Ok(CosignerKey {
            name: name.to_string(),
            key,
            id,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key: `<name>+<key id hex>+<base64(0x04 || public key)>`.
    pub fn vkey(&self) -> String {
        let public = [&[COSIGNATURE_V1][..], self.key.verifying_key().as_bytes()].concat();
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(public))
    }

    /// The cosignature line (`— <name> base64(key id || timestamp || signature)` and a newline) on a
    /// checkpoint's note text at `time` (POSIX seconds).
    pub fn cosign(&self, text: &[u8], time: u64) -> Result<String, String> {
        let sig = self.key.sign(&signed_message(time, text));
        let body = [&time.to_be_bytes()[..], &sig.to_bytes()[..]].concat();
        let line = Signature::new(self.name.clone(), self.id, body).map_err(|e| e.to_string())?;
        String::from_utf8(line.to_bytes()).map_err(|e| e.to_string())
    }
}

/// Verifies one witness's cosignatures (a signed-note verifier for type 0x04).
#[derive(Debug)]
pub struct CosignatureVerifier {
    name: String,
    key: VerifyingKey,
    id: u32,
}

impl CosignatureVerifier {
    /// From a verifier key `<name>+<hex id>+<base64(0x04 || 32-byte key)>`; the id must be the spec's.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, String> {
        let bad = |why: &str| format!("`{vkey}` is not a cosigner verifier key: {why}");
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<key id>+<key>"));
        };
        let key = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
        let (alg, public) = key.split_first().ok_or_else(|| bad("the key is empty"))?;
        if *alg != COSIGNATURE_V1 {
            return Err(bad(&format!("signature type {alg:#04x}, not 0x04 (cosignature/v1)")));
        }
        let public: [u8; 32] = public.try_into().map_err(|_| bad("not a 32-byte Ed25519 key"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not an Ed25519 public key"))?;
        let id_given = u32::from_str_radix(id, 16)
            .ok()
            .filter(|_| id.len() == 8)
            .ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        if !signed_note::is_key_name_valid(name) || id_given != key_id(name, &key) {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(CosignatureVerifier {
            name: name.to_string(),
            key,
            id: id_given,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some(time) = timestamp(sig) else { return false };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key.verify_strict(&signed_message(time, msg), &sig).is_ok()
    }
}

/// The timestamp of a cosignature's signature bytes (after the key id), if it has the v1 layout.
pub fn timestamp(sig: &[u8]) -> Option<u64> {
    if sig.len() != 8 + 64 {
        return None;
    }
    let time = u64::from_be_bytes(sig[..8].try_into().ok()?);
    (time <= i64::MAX as u64).then_some(time)
}

/// A checkpoint checked against the log's key and a witness policy.
#[derive(Debug)]
pub struct Cosigned {
    pub checkpoint: Checkpoint,
    /// The witnesses whose cosignatures verify, in the order given.
    pub by: Vec<String>,
    /// The witnesses given that did not cosign this checkpoint.
    pub missing: Vec<String>,
}

/// Check a checkpoint note's log signature (the log's `vkey`) and its cosignatures by `witnesses`
/// (verifier keys). A cosignature that is there but does not verify is an error naming the witness; a
/// witness that did not cosign is listed in `missing`. The quorum is the caller's to judge.
pub fn check_cosigned(note: &[u8], log_vkey: &str, witnesses: &[String]) -> Result<Cosigned, String> {
    let checkpoint = crate::domain::log::open_checkpoint(note, log_vkey)?;
    let parsed = Note::from_bytes(note).map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
    let (mut by, mut missing) = (Vec::new(), Vec::new());
    for vkey in witnesses {
        let witness = CosignatureVerifier::parse(vkey)?;
        let name = witness.name.clone();
        let log = StandardVerifier::new(log_vkey).map_err(|e| format!("the log's verifier key is malformed: {e}"))?;
        let known = VerifierList::new(vec![Box::new(log), Box::new(witness)]);
        match parsed.verify(&known) {
            Ok((verified, _)) if verified.iter().any(|s| s.name() == name) => by.push(name),
            Ok(_) => missing.push(name),
            Err(NoteError::InvalidSignature { name: who, .. }) if who == name => return Err(format!("the cosignature of witness {name} does not verify")),
            Err(e) => return Err(format!("the checkpoint does not verify: {e}")),
        }
    }
    Ok(Cosigned { checkpoint, by, missing })
}

/// Judge a checked checkpoint against a quorum: Ok, or why not, naming the witnesses missing.
pub fn require_quorum(c: &Cosigned, quorum: usize) -> Result<(), String> {
    if c.by.len() >= quorum {
        return Ok(());
    }
    Err(format!(
        "the checkpoint of size {} has {} of the {quorum} cosignatures required (cosigned by: {}; not by: {})",
        c.checkpoint.size(),
        c.by.len(),
        if c.by.is_empty() { "none".to_string() } else { c.by.join(", ") },
        if c.missing.is_empty() { "none".to_string() } else { c.missing.join(", ") },
    ))
}

/// A `<word> <n>` line: n in ASCII decimal without leading zeroes (unless it is 0), as both specs write it.
fn decimal_line(line: &str, word: &str) -> Result<u64, String> {
    line.strip_prefix(word)
        .and_then(|r| r.strip_prefix(' '))
        .filter(|n| !n.is_empty() && (*n == "0" || !n.starts_with('0')) && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("`{line}` is not `{word} <decimal>`"))
}

/// The body of a tlog-witness `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old);
        for h in encode_hashes(&self.proof) {
            out.push_str(&h);
            out.push('\n');
        }
        out.push('\n');
        [out.as_bytes(), &self.checkpoint].concat()
    }

    /// Parse a request body; the error says what is malformed (a 400).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, String> {
        let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8".to_string())?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or("no empty line before the checkpoint")?;
        let mut lines = head.split('\n');
        let old = decimal_line(lines.next().unwrap_or_default(), "old")?;
        let proof: Vec<String> = lines.map(str::to_string).collect();
        if proof.len() > MAX_PROOF_LINES {
            return Err(format!("{} consistency proof lines; at most {MAX_PROOF_LINES}", proof.len()));
        }
        Ok(AddCheckpoint {
            old,
            proof: decode_hashes(&proof)?,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }
}

/// Why a witness does not cosign: the tlog-witness status and what to say.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// 400: malformed, or the old size is above the checkpoint's.
    BadRequest(String),
    /// 403: no signature by a key the witness trusts for this origin.
    Untrusted,
    /// 404: the witness does not know this log.
    UnknownLog(String),
    /// 409: the old size is not the witness's (body: its size), or the same size with another root.
    Conflict(u64),
    /// 422: the consistency proof does not verify.
    BadProof,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Untrusted => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict(_) => 409,
            Refusal::BadProof => 422,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::BadRequest(why) => format!("bad request: {why}\n"),
            Refusal::Untrusted => "no signature by a key this witness trusts for the checkpoint's origin\n".into(),
            Refusal::UnknownLog(origin) => format!("this witness does not follow the log {origin}\n"),
            // The tlog-witness body is the size alone, in decimal, and a newline.
            Refusal::Conflict(size) => format!("{size}\n"),
            Refusal::BadProof => "the consistency proof does not verify\n".into(),
        }
    }
}

/// The witness's record of a log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub size: u64,
    pub root: Hash,
}

/// The origin (first line) of a checkpoint note, to look the log up; a 400 if there is none.
pub fn origin_of(note: &[u8]) -> Result<String, Refusal> {
    let text = std::str::from_utf8(note).map_err(|_| Refusal::BadRequest("the checkpoint is not UTF-8".into()))?;
    match text.split_once('\n') {
        Some((origin, _)) if !origin.is_empty() => Ok(origin.to_string()),
        _ => Err(Refusal::BadRequest("the checkpoint has no origin line".into())),
    }
}

/// The witness's checks of a request for a log it follows (`log_vkeys`: the keys it trusts for the
/// origin; `seen`: what it cosigned last), in the order tlog-witness gives. Ok: the checkpoint to record
/// (and cosign) and the note text to cosign.
pub fn decide(req: &AddCheckpoint, log_vkeys: &[String], seen: Option<Seen>) -> Result<(Seen, Vec<u8>), Refusal> {
    let note = Note::from_bytes(&req.checkpoint).map_err(|_| Refusal::BadRequest("the checkpoint is not a signed note".into()))?;
    let verifiers: Vec<Box<dyn Verifier>> = log_vkeys
        .iter()
        .filter_map(|v| StandardVerifier::new(v).ok())
        .map(|v| Box::new(v) as Box<dyn Verifier>)
        .collect();
    match note.verify(&VerifierList::new(verifiers)) {
        Ok(_) => {}
        Err(NoteError::UnverifiedNote) | Err(NoteError::InvalidSignature { .. }) => return Err(Refusal::Untrusted),
        Err(e) => return Err(Refusal::BadRequest(format!("the checkpoint: {e}"))),
    }
    let cp = Checkpoint::from_bytes(note.text()).map_err(|_| Refusal::BadRequest("the checkpoint is malformed".into()))?;
    if req.old > cp.size() {
        return Err(Refusal::BadRequest(format!("old size {} is above the checkpoint's {}", req.old, cp.size())));
    }
    let known = seen.map(|s| s.size).unwrap_or(0);
    if req.old != known {
        return Err(Refusal::Conflict(known));
    }
    let new = Seen {
        size: cp.size(),
        root: *cp.hash(),
    };
    match seen {
        Some(s) if s.size == cp.size() => {
            if s.root != new.root {
                return Err(Refusal::Conflict(known));
            }
        }
        Some(s) if s.size > 0 => {
            tlog_tiles::check_tree(&req.proof, cp.size(), *cp.hash(), s.size, s.root).map_err(|_| Refusal::BadProof)?;
        }
        _ => {
            if !req.proof.is_empty() {
                return Err(Refusal::BadProof);
            }
        }
    }
    Ok((new, note.text().to_vec()))
}

/// A C2SP tlog-proof@v1 bundle: for our log, `extra` is the entry itself (RFC 8785 JSON), which the
/// record hash is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note with its signature lines (the log's, then cosignatures).
    pub checkpoint: String,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in encode_hashes(&self.proof) {
            out.push_str(&h);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<TlogProof, String> {
        let rest = text
            .strip_prefix(PROOF_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or_else(|| format!("not a tlog-proof: the first line is not {PROOF_HEADER}"))?;
        let (head, checkpoint) = rest.split_once("\n\n").ok_or("no empty line before the checkpoint")?;
        let mut lines = head.split('\n').peekable();
        let extra = match lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            Some(e) => {
                let bytes = B64.decode(e).map_err(|_| "the extra line is not base64".to_string())?;
                lines.next();
                Some(bytes)
            }
            None => None,
        };
        let index = decimal_line(lines.next().unwrap_or_default(), "index")?;
        let proof: Vec<String> = lines.map(str::to_string).collect();
        Ok(TlogProof {
            extra,
            index,
            proof: decode_hashes(&proof)?,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Check offline: the checkpoint's log signature and cosignatures (at least `quorum` of `witnesses`),
    /// the entry (the extra data) at the index, and its inclusion in the checkpoint's tree.
    pub fn check(&self, log_vkey: &str, witnesses: &[String], quorum: usize) -> Result<(Entry, Cosigned), String> {
        let cosigned = check_cosigned(self.checkpoint.as_bytes(), log_vkey, witnesses)?;
        require_quorum(&cosigned, quorum)?;
        let bytes = self.extra.as_deref().ok_or("the proof carries no entry (extra line)")?;
        let entry = Entry::parse(bytes)?;
        if entry.seq != self.index {
            return Err(format!("the entry says seq {} but the proof's index is {}", entry.seq, self.index));
        }
        let cp = &cosigned.checkpoint;
        tlog_tiles::check_record(&self.proof, cp.size(), *cp.hash(), self.index, leaf_hash(bytes))
            .map_err(|_| format!("entry {} is not in the tree of size {} that the checkpoint signs", self.index, cp.size()))?;
        Ok((entry, cosigned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::log::{LogKey, MemoryHashes};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn tree(n: u64) -> MemoryHashes {
        let mut t = MemoryHashes::default();
        for i in 0..n {
            t.append(i, leaf_hash(format!("entry {i}").as_bytes())).unwrap();
        }
        t
    }

    fn note(log: &LogKey, t: &MemoryHashes, size: u64) -> Vec<u8> {
        log.sign_checkpoint(size, tlog_tiles::tree_hash(size, t).unwrap()).unwrap().into_bytes()
    }

    #[test]
    fn the_spec_example_has_the_v1_layout() {
        // tlog-cosignature's example: `— witness.example.com/w1 jWbPPwAAAABkGFDL…`, signed at 1679315147.
        let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let sig = Signature::from_bytes(line.as_bytes()).unwrap();
        assert_eq!(sig.name(), "witness.example.com/w1");
        assert_eq!(timestamp(sig.signature()), Some(1_679_315_147), "time line of the spec's signed message");
    }

    #[test]
    fn a_cosignature_verifies_and_names_its_time() {
        let log = LogKey::new("registry.test/log".into(), key(1));
        let w = CosignerKey::new("witness.test/w1", key(2)).unwrap();
        let t = tree(5);
        let text = note(&log, &t, 5);
        let parsed = Note::from_bytes(&text).unwrap();
        let line = w.cosign(parsed.text(), 1_700_000_000).unwrap();
        assert!(line.starts_with("— witness.test/w1 ") && line.ends_with('\n'));
        let cosigned = [text.clone(), line.clone().into_bytes()].concat();
        let c = check_cosigned(&cosigned, &log.vkey(), &[w.vkey()]).unwrap();
        assert_eq!((c.by.clone(), c.checkpoint.size()), (vec!["witness.test/w1".to_string()], 5));
        // The key id is SHA-256(name || "\n" || 0x04 || key)[:4], as the verifier key says.
        let id = &w.vkey().split('+').nth(1).unwrap().to_string();
        let expected = {
            use sha2::Digest;
            let h = sha2::Sha256::digest([b"witness.test/w1\n".as_slice(), &[4], key(2).verifying_key().as_bytes()].concat());
            hex::encode(&h[..4])
        };
        assert_eq!(id, &expected);
        // Another time in the line than the one signed: refused, naming the witness.
        let forged = line.replace(&line[line.len() - 10..], "AAAAAAAAA\n");
        let bad = [text.clone(), forged.into_bytes()].concat();
        let err = check_cosigned(&bad, &log.vkey(), &[w.vkey()]).unwrap_err();
        assert!(err.contains("witness.test/w1"), "{err}");
        // Absent: listed as missing, and a quorum of one fails naming it.
        let c = check_cosigned(&text, &log.vkey(), &[w.vkey()]).unwrap();
        assert_eq!(c.missing, ["witness.test/w1"]);
        assert!(require_quorum(&c, 1).unwrap_err().contains("not by: witness.test/w1"));
        // A log key (type 0x01) is not a cosigner key.
        assert!(CosignatureVerifier::parse(&log.vkey()).unwrap_err().contains("0x04"));
    }

    #[test]
    fn the_witness_decides_as_tlog_witness_says() {
        let log = LogKey::new("registry.test/log".into(), key(1));
        let other = LogKey::new("registry.test/log".into(), key(9));
        let vkeys = vec![log.vkey()];
        let t = tree(10);
        let req = |old: u64, size: u64, proof: Vec<Hash>, k: &LogKey| AddCheckpoint {
            old,
            proof,
            checkpoint: note(k, &t, size),
        };
        // First sight: old 0, no proof.
        let (seen, _) = decide(&req(0, 4, vec![], &log), &vkeys, None).unwrap();
        assert_eq!(seen.size, 4);
        // Grown with a good proof.
        let proof = tlog_tiles::prove_tree(10, 4, &t).unwrap();
        let (seen10, _) = decide(&req(4, 10, proof.clone(), &log), &vkeys, Some(seen)).unwrap();
        assert_eq!(seen10.size, 10);
        // Refusals, one per status.
        assert_eq!(decide(&req(4, 10, proof.clone(), &other), &vkeys, Some(seen)).unwrap_err(), Refusal::Untrusted);
        assert_eq!(decide(&req(11, 10, vec![], &log), &vkeys, Some(seen)).unwrap_err().status(), 400);
        assert_eq!(decide(&req(0, 10, vec![], &log), &vkeys, Some(seen)).unwrap_err(), Refusal::Conflict(4));
        assert_eq!(
            decide(&req(4, 10, proof[1..].to_vec(), &log), &vkeys, Some(seen)).unwrap_err(),
            Refusal::BadProof
        );
        // The same size with another root is a conflict too.
        let forked = Seen { size: 10, root: Hash([7; 32]) };
        assert_eq!(decide(&req(10, 10, vec![], &log), &vkeys, Some(forked)).unwrap_err(), Refusal::Conflict(10));
        assert_eq!(origin_of(b"").unwrap_err().status(), 400);
    }

    #[test]
    fn requests_and_proofs_read_back_what_was_written() {
        let log = LogKey::new("registry.test/log".into(), key(1));
        let t = tree(7);
        let r = AddCheckpoint {
            old: 3,
            proof: tlog_tiles::prove_tree(7, 3, &t).unwrap(),
            checkpoint: note(&log, &t, 7),
        };
        assert_eq!(AddCheckpoint::parse(&r.to_bytes()).unwrap(), r);
        for bad in ["old 01\n\nx\n", "old \n\nx\n", "new 1\n\nx\n", "old 1\nnot-base64\n\nx\n", "old 1\n"] {
            assert!(AddCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let entry = Entry {
            seq: 2,
            kind: "issued".into(),
            number: "GEL-2026-000001".into(),
            status: "valid".into(),
            at: "2026-04-16T10:00:00Z".into(),
            venue: "Smart Plastic Zone".into(),
            reason: None,
            token_sha256: "00".repeat(32),
        };
        let mut t = tree(2);
        t.append(2, leaf_hash(&entry.to_jcs())).unwrap();
        t.append(3, leaf_hash(b"later")).unwrap();
        let p = TlogProof {
            extra: Some(entry.to_jcs()),
            index: 2,
            proof: tlog_tiles::prove_record(4, 2, &t).unwrap(),
            checkpoint: String::from_utf8(note(&log, &t, 4)).unwrap(),
        };
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra ") && text.contains("\nindex 2\n"));
        let back = TlogProof::parse(&text).unwrap();
        assert_eq!(back, p);
        let (e, _) = back.check(&log.vkey(), &[], 0).unwrap();
        assert_eq!(e, entry);
        let mut wrong = back.clone();
        wrong.index = 3;
        assert!(wrong.check(&log.vkey(), &[], 0).is_err());
        let w = CosignerKey::new("witness.test/w1", key(2)).unwrap();
        assert!(back.check(&log.vkey(), &[w.vkey()], 1).unwrap_err().contains("not by: witness.test/w1"));
    }
}
