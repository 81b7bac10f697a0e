//! The public transparency log's formats: entries (RFC 8785 JSON), RFC 9162 hashing (via `tlog_tiles`),
//! C2SP tlog-tiles paths (height 8), C2SP checkpoints signed as C2SP signed notes, and proof checks.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use signed_note::{Note, Signer, StandardVerifier, VerifierList};
use std::collections::BTreeMap;
pub use tlog_tiles::{Checkpoint, Hash, HashReader, Tile};

/// C2SP tlog-tiles: tiles are 2^8 = 256 hashes (or entries) wide.
pub const TILE_HEIGHT: u8 = 8;
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// One log entry: public facts of an issuance or a status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// issued, suspended, reinstated, withdrawn, superseded or expired.
    #[serde(rename = "type")]
    pub kind: String,
    pub number: String,
    /// The certificate's status after this entry (valid, suspended, withdrawn, superseded, expired).
    pub status: String,
    /// RFC 3339 UTC with `Z`.
    pub at: String,
    pub venue: String,
    pub reason: Option<String>,
    /// Hex SHA-256 of the certificate's signed token (COSE bytes).
    pub token_sha256: String,
}

impl Entry {
    /// The entry serialised by RFC 8785 (JCS): members sorted by key, no white space, shortest escapes.
    /// For this shape (ASCII keys, integers, strings, null) serde_json's compact output of a sorted map is
    /// exactly JCS.
    pub fn to_jcs(&self) -> Vec<u8> {
        let mut m = BTreeMap::new();
        m.insert("at", serde_json::json!(self.at));
        m.insert("number", serde_json::json!(self.number));
        m.insert("reason", serde_json::json!(self.reason));
        m.insert("seq", serde_json::json!(self.seq));
        m.insert("status", serde_json::json!(self.status));
        m.insert("token_sha256", serde_json::json!(self.token_sha256));
        m.insert("type", serde_json::json!(self.kind));
        m.insert("venue", serde_json::json!(self.venue));
        serde_json::to_vec(&m).unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<Entry, String> {
        let e: Entry = serde_json::from_slice(bytes).map_err(|e| format!("not a log entry: {e}"))?;
        if e.to_jcs() != bytes {
            return Err(format!("entry {} is not in canonical (RFC 8785) form", e.seq));
        }
        Ok(e)
    }
}

/// RFC 9162 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry)
}

/// The origin line of the registry's checkpoints: the public URL's host and path, then `/log`.
pub fn origin(public_url: &str) -> String {
    let rest = public_url.split_once("://").map(|(_, r)| r).unwrap_or(public_url);
    format!("{}/log", rest.trim_end_matches('/'))
}

/// The log's own Ed25519 key, as a C2SP signed-note signer whose name is the origin.
#[derive(Clone)]
pub struct LogKey {
    pub origin: String,
    key: SigningKey,
    id: u32,
}

fn encoded_public(key: &VerifyingKey) -> Vec<u8> {
    [&[1u8][..], key.as_bytes()].concat()
}

impl LogKey {
    pub fn new(origin: String, key: SigningKey) -> LogKey {
        let id = signed_note::key_id(&origin, &encoded_public(&key.verifying_key()));
        LogKey { origin, key, id }
    }

    /// The note verifier key: `<origin>+<key id hex>+<base64(0x01 || public key)>`.
    pub fn vkey(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.origin, &self.key.verifying_key())
    }

    /// A signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note) for a tree of `size` with `root`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<String, String> {
        let cp = Checkpoint::new(&self.origin, size, root, "").map_err(|e| format!("checkpoint: {e:?}"))?;
        let mut note = Note::new(&cp.to_bytes(), &[]).map_err(|e| format!("note: {e}"))?;
        note.add_sigs(&[self]).map_err(|e| format!("signing the checkpoint: {e}"))?;
        String::from_utf8(note.to_bytes()).map_err(|e| e.to_string())
    }
}

impl Signer for LogKey {
    fn name(&self) -> &str {
        &self.origin
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// Check a signed checkpoint against a verifier key; returns the checkpoint.
pub fn open_checkpoint(note: &[u8], vkey: &str) -> Result<Checkpoint, String> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| format!("the log's verifier key is malformed: {e}"))?;
    let origin = signed_note::Verifier::name(&verifier).to_string();
    let note = Note::from_bytes(note).map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| format!("the checkpoint's signature does not verify: {e}"))?;
    let cp = Checkpoint::from_bytes(note.text()).map_err(|_| "the checkpoint is malformed".to_string())?;
    if cp.origin() != origin {
        return Err(format!("the checkpoint's origin {} is not the key's {origin}", cp.origin()));
    }
    Ok(cp)
}

/// The C2SP tlog-tiles path of a tile (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), without prefix.
pub fn tile_path(level: Option<u8>, index: u64, width: u64) -> String {
    let mut n = format!("{:03}", index % 1000);
    let mut rest = index / 1000;
    while rest > 0 {
        n = format!("x{:03}/{n}", rest % 1000);
        rest /= 1000;
    }
    let l = level.map(|l| l.to_string()).unwrap_or_else(|| "entries".into());
    if width == TILE_WIDTH {
        format!("tile/{l}/{n}")
    } else {
        format!("tile/{l}/{n}.p/{width}")
    }
}

/// Parse the part of a tile path after `tile/<L>/`: the index and width (256 for a full tile).
pub fn parse_tile_index(path: &str) -> Option<(u64, u64)> {
    let (n_part, width) = match path.split_once(".p/") {
        Some((n, w_text)) => {
            let w: u64 = w_text.parse().ok().filter(|w| (1..TILE_WIDTH).contains(w))?;
            if w.to_string() != w_text {
                return None;
            }
            (n, w)
        }
        None => (path, TILE_WIDTH),
    };
    let parts: Vec<&str> = n_part.split('/').collect();
    let mut index: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let digits = if last { *p } else { p.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    (tile_path(Some(0), index, width) == format!("tile/0/{path}")).then_some((index, width))
}

/// Base64 of each hash, as proofs are published.
pub fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h.0)).collect()
}

pub fn decode_hashes(hashes: &[String]) -> Result<Vec<Hash>, String> {
    hashes
        .iter()
        .map(|s| {
            let b = B64.decode(s).map_err(|_| format!("{s} is not base64"))?;
            let a: [u8; 32] = b.try_into().map_err(|_| format!("{s} is not a SHA-256 hash"))?;
            Ok(Hash(a))
        })
        .collect()
}

/// An inclusion proof bundle, for offline checks (`ecolabel verify --proof FILE`): the entry, its index,
/// the signed checkpoint and the audit path to it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProofBundle {
    /// The entry as it is in the log (RFC 8785 JSON text).
    pub entry: String,
    pub index: u64,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    /// The audit path, base64 hashes (RFC 9162 2.1.3).
    pub inclusion_proof: Vec<String>,
}

/// Check a bundle against the log's verifier key: the checkpoint's signature, then the entry's inclusion.
pub fn check_bundle(bundle: &ProofBundle, vkey: &str) -> Result<(Entry, Checkpoint), String> {
    let cp = open_checkpoint(bundle.checkpoint.as_bytes(), vkey)?;
    let entry = Entry::parse(bundle.entry.as_bytes())?;
    if entry.seq != bundle.index {
        return Err(format!("the entry says seq {} but the bundle index {}", entry.seq, bundle.index));
    }
    let proof = decode_hashes(&bundle.inclusion_proof)?;
    tlog_tiles::check_record(&proof, cp.size(), *cp.hash(), bundle.index, leaf_hash(bundle.entry.as_bytes()))
        .map_err(|_| format!("entry {} is not in the tree of size {} that the checkpoint signs", bundle.index, cp.size()))?;
    Ok((entry, cp))
}

/// Hashes kept in memory (for the monitor and tests): the stored hashes of `tlog_tiles`, in index order.
#[derive(Default)]
pub struct MemoryHashes(pub Vec<Hash>);

impl MemoryHashes {
    /// Append record `n` (= the current number of records).
    pub fn append(&mut self, n: u64, leaf: Hash) -> Result<(), String> {
        let new = tlog_tiles::stored_hashes_for_record_hash(n, leaf, self).map_err(|e| e.to_string())?;
        self.0.extend(new);
        Ok(())
    }
}

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// The right edge of a tree, in memory: only the roots of its complete subtrees, which are all that a
/// further append or the tree hash reads. Appending many records at once (the seed) keeps this, not the
/// whole tree.
pub struct Frontier {
    size: u64,
    roots: std::collections::HashMap<u64, Hash>,
}

impl Frontier {
    /// The stored-hash indexes a tree of `size` records needs to start from.
    pub fn needed(size: u64) -> Vec<u64> {
        tlog_tiles::sub_tree_index(0, size, vec![])
    }

    /// The frontier of a tree of `size`, from the hashes at `Frontier::needed(size)`, in that order.
    pub fn new(size: u64, hashes: Vec<Hash>) -> Result<Frontier, String> {
        let needed = Frontier::needed(size);
        if needed.len() != hashes.len() {
            return Err(format!("a tree of {size} needs {} subtree roots, got {}", needed.len(), hashes.len()));
        }
        Ok(Frontier {
            size,
            roots: needed.into_iter().zip(hashes).collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append the next record; returns the stored hashes its append made (the leaf hash, then one per
    /// subtree it completed), as a log keeps them with the record.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<Hash>, String> {
        let n = self.size;
        let made = tlog_tiles::stored_hashes_for_record_hash(n, leaf, &*self).map_err(|e| e.to_string())?;
        let first = tlog_tiles::stored_hash_index(0, n);
        self.roots.extend(made.iter().enumerate().map(|(i, h)| (first + i as u64, *h)));
        self.size += 1;
        let keep = Frontier::needed(self.size);
        self.roots.retain(|i, _| keep.contains(i));
        Ok(made)
    }

    /// The root hash of the tree.
    pub fn root(&self) -> Result<Hash, String> {
        tlog_tiles::tree_hash(self.size, self).map_err(|e| e.to_string())
    }
}

impl HashReader for Frontier {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| self.roots.get(i).copied().ok_or(tlog_tiles::Error::IndexesNotInTree))
            .collect()
    }
}

/// The tiles (level, index, width) of a tree of `size` records, lowest level first, as C2SP lists them.
pub fn tiles_of(size: u64) -> Vec<(u8, u64, u64)> {
    let mut out = Vec::new();
    let mut level = 0u8;
    let mut count = size; // nodes at this level
    while count > 0 {
        let full = count / TILE_WIDTH;
        for n in 0..full {
            out.push((level, n, TILE_WIDTH));
        }
        if !count.is_multiple_of(TILE_WIDTH) {
            out.push((level, full, count % TILE_WIDTH));
        }
        count /= TILE_WIDTH;
        level += 1;
    }
    out
}

/// The bytes of tile (level, index, width): the hashes of that range at that tile level.
pub fn tile_data<R: HashReader>(level: u8, index: u64, width: u64, r: &R) -> Result<Vec<u8>, String> {
    let w = u32::try_from(width).map_err(|e| e.to_string())?;
    Tile::new(TILE_HEIGHT, level, index, w, false).read_data(r).map_err(|e| e.to_string())
}

/// An entry bundle: each entry as a big-endian u16 length and its bytes.
pub fn entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Split an entry bundle back into entries.
pub fn split_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(2).ok_or("truncated entry bundle")?;
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        let (e, rest) = rest.split_at_checked(len).ok_or("truncated entry bundle")?;
        out.push(e.to_vec());
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree(leaves: &[Vec<u8>]) -> MemoryHashes {
        let mut m = MemoryHashes::default();
        for (i, l) in leaves.iter().enumerate() {
            m.append(i as u64, leaf_hash(l)).unwrap();
        }
        m
    }

    /// The RFC 6962 / RFC 9162 reference leaves and the roots of their first 1..=8 prefixes.
    fn reference_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    #[test]
    fn reference_roots() {
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let m = tree(&reference_leaves());
        for (i, want) in roots.iter().enumerate() {
            let got = tlog_tiles::tree_hash(i as u64 + 1, &m).unwrap();
            assert_eq!(hex::encode(got.0), *want, "root of the first {} leaves", i + 1);
        }
        let empty = tlog_tiles::tree_hash(0, &m).unwrap();
        assert_eq!(hex::encode(empty.0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn reference_proofs() {
        // RFC 9162 2.1.3: the audit path of leaf 0 in the tree of 8 is [leaf 1, node(2..4), node(4..8)];
        // 2.1.4: the consistency proof from 4 to 8 is [node(4..8)], from 6 to 8 [leaf hash... ] (checked below).
        let leaves = reference_leaves();
        let m = tree(&leaves);
        let root8 = tlog_tiles::tree_hash(8, &m).unwrap();
        let proof = tlog_tiles::prove_record(8, 0, &m).unwrap();
        assert_eq!(proof.len(), 3);
        assert_eq!(proof[0], leaf_hash(&leaves[1]));
        tlog_tiles::check_record(&proof, 8, root8, 0, leaf_hash(&leaves[0])).unwrap();
        let root4 = tlog_tiles::tree_hash(4, &m).unwrap();
        let c = tlog_tiles::prove_tree(8, 4, &m).unwrap();
        assert_eq!(c.len(), 1, "a power-of-two prefix needs one hash");
        tlog_tiles::check_tree(&c, 8, root8, 4, root4).unwrap();
    }

    proptest! {
        /// A frontier started anywhere in a tree and appended to makes the same stored hashes and roots as
        /// the whole tree in memory.
        #[test]
        fn a_frontier_appends_like_the_whole_tree(start in 0u64..200, more in 1u64..120) {
            let leaves: Vec<Vec<u8>> = (0..start + more).map(|i| format!("entry {i}").into_bytes()).collect();
            let whole = tree(&leaves[..start as usize]);
            let known = whole.read_hashes(&Frontier::needed(start)).unwrap();
            let mut f = Frontier::new(start, known).unwrap();
            let mut all = tree(&leaves[..start as usize]);
            for n in start..start + more {
                let before = all.0.len();
                all.append(n, leaf_hash(&leaves[n as usize])).unwrap();
                let made = f.append(leaf_hash(&leaves[n as usize])).unwrap();
                prop_assert_eq!(&made[..], &all.0[before..]);
                prop_assert_eq!(f.root().unwrap(), tlog_tiles::tree_hash(n + 1, &all).unwrap());
            }
            prop_assert!(Frontier::new(start + 1, vec![]).is_err());
        }

        #[test]
        fn proofs_for_random_sizes_verify_and_altered_ones_fail(size in 1u64..300, pick in any::<u64>(), old in any::<u64>(), bit in 0usize..256) {
            let leaves: Vec<Vec<u8>> = (0..size).map(|i| format!("entry {i}").into_bytes()).collect();
            let m = tree(&leaves);
            let n = pick % size;
            let root = tlog_tiles::tree_hash(size, &m).unwrap();
            let mut proof = tlog_tiles::prove_record(size, n, &m).unwrap();
            prop_assert!(tlog_tiles::check_record(&proof, size, root, n, leaf_hash(&leaves[n as usize])).is_ok());
            prop_assert!(tlog_tiles::check_record(&proof, size, root, n, leaf_hash(b"forged")).is_err());
            if !proof.is_empty() {
                let i = bit % proof.len();
                proof[i].0[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(tlog_tiles::check_record(&proof, size, root, n, leaf_hash(&leaves[n as usize])).is_err());
            }
            let old = 1 + old % size;
            let old_root = tlog_tiles::tree_hash(old, &m).unwrap();
            let mut c = tlog_tiles::prove_tree(size, old, &m).unwrap();
            prop_assert!(tlog_tiles::check_tree(&c, size, root, old, old_root).is_ok());
            if !c.is_empty() {
                let i = bit % c.len();
                c[i].0[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(tlog_tiles::check_tree(&c, size, root, old, old_root).is_err());
            }
        }

        #[test]
        fn tile_paths_round_trip(index in 0u64..10_000_000_000, width in 1u64..=256) {
            let p = tile_path(Some(0), index, width);
            let rest = p.strip_prefix("tile/0/").unwrap();
            prop_assert_eq!(parse_tile_index(rest), Some((index, width)));
        }
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        assert_eq!(tile_path(Some(0), 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(None, 3, 5), "tile/entries/003.p/5");
        assert_eq!(tile_path(Some(1), 0, 256), "tile/1/000");
        assert_eq!(parse_tile_index("x001/x234/067"), Some((1234067, 256)));
        assert_eq!(parse_tile_index("1"), None);
        assert_eq!(parse_tile_index("001.p/256"), None);
        assert_eq!(parse_tile_index("001.p/007"), None);
        assert_eq!(parse_tile_index("x000/001"), None, "no leading zero groups");
        assert_eq!(tiles_of(300), vec![(0, 0, 256), (0, 1, 44), (1, 0, 1)]);
        assert!(tiles_of(0).is_empty());
    }

    #[test]
    fn entries_are_jcs_and_checkpoints_verify() {
        let e = Entry {
            seq: 7,
            kind: "suspended".into(),
            number: "GEL-2025-000001".into(),
            status: "suspended".into(),
            at: "2026-01-02T03:04:05Z".into(),
            venue: "Smart Plastic Zone «Ақ»\n".into(),
            reason: None,
            token_sha256: "ab".into(),
        };
        let text = String::from_utf8(e.to_jcs()).unwrap();
        assert_eq!(
            text,
            r#"{"at":"2026-01-02T03:04:05Z","number":"GEL-2025-000001","reason":null,"seq":7,"status":"suspended","token_sha256":"ab","type":"suspended","venue":"Smart Plastic Zone «Ақ»\n"}"#
        );
        assert_eq!(Entry::parse(text.as_bytes()).unwrap(), e);
        assert!(Entry::parse(b"{ \"seq\": 7 }").is_err());

        let key = LogKey::new(origin("https://registry.example.kz/"), SigningKey::from_bytes(&[7; 32]));
        assert_eq!(key.origin, "registry.example.kz/log");
        let note = key.sign_checkpoint(3, Hash([1; 32])).unwrap();
        assert!(note.starts_with("registry.example.kz/log\n3\nAQEB"), "{note}");
        let cp = open_checkpoint(note.as_bytes(), &key.vkey()).unwrap();
        assert_eq!(cp.size(), 3);
        let forged = note.replace("\n3\n", "\n4\n");
        assert!(open_checkpoint(forged.as_bytes(), &key.vkey()).is_err());
        let other = LogKey::new(key.origin.clone(), SigningKey::from_bytes(&[8; 32]));
        assert!(open_checkpoint(note.as_bytes(), &other.vkey()).is_err());
        let bundle = entry_bundle([&b"ab"[..], b"", b"xyz"]);
        assert_eq!(split_bundle(&bundle).unwrap(), vec![b"ab".to_vec(), vec![], b"xyz".to_vec()]);
        assert!(split_bundle(&bundle[..bundle.len() - 1]).is_err());
    }
}
