#!/usr/bin/env python3
"""Third-party check of the registry's public log, written from RFC 9162 and the C2SP texts (signed-note,
tlog-checkpoint, tlog-tiles) with only hashlib and cryptography, no registry code:
  1. the note verifier key (/log/vkey) and its key id; the checkpoint's Ed25519 signed-note signature;
  2. the tree rebuilt from the entry bundles hashes to the checkpoint's root (RFC 9162 2.1.1);
  3. a certificate's inclusion proof from its JSON verifies (RFC 9162 2.1.3.2);
  4. consistency proofs from every older size verify (RFC 9162 2.1.4.2);
  5. with witness keys: the checkpoint's cosignatures (C2SP tlog-cosignature, cosignature/v1, type 0x04)
     verify for at least the quorum, and the certificate's tlog-proof bundle (C2SP tlog-proof@v1) verifies
     with its entry, inclusion proof and cosigned checkpoint.
Usage: log_check.py <registry base URL> <certificate number> [--witness-vkey V]... [--quorum k]"""
import base64, hashlib, json, sys, urllib.request
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

args = sys.argv[1:]
witness_vkeys, quorum, rest = [], None, []
while args:
    a = args.pop(0)
    if a == "--witness-vkey":
        witness_vkeys.append(args.pop(0))
    elif a == "--quorum":
        quorum = int(args.pop(0))
    else:
        rest.append(a)
base, number = rest[0].rstrip("/"), rest[1]
quorum = len(witness_vkeys) if quorum is None else quorum


def get(path, accept=None):
    req = urllib.request.Request(base + path, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 9162 2.1.1: the Merkle Tree Hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def climb(fn, sn):
    """The step both RFC 9162 algorithms share: if LSB(fn) is not set, right-shift both until it is, or fn is 0."""
    if not fn & 1:
        while True:
            fn >>= 1
            sn >>= 1
            if fn & 1 or fn == 0:
                break
    return fn, sn


def verify_inclusion(index, size, leaf_hash, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            fn, sn = climb(fn, sn)
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_hash == second_hash
    if not proof:
        return False
    if first & (first - 1) == 0:  # a power of two: prepend first_hash
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            fn, sn = climb(fn, sn)
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def open_note(note, vkey):
    """C2SP signed-note with an Ed25519 verifier key `name+hexid+base64(0x01 || key)`."""
    name, hexid, keyb64 = vkey.strip().split("+", 2)  # base64 may contain "+"; names may not
    key = base64.b64decode(keyb64)
    assert key[0] == 1, "not an Ed25519 verifier key"
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    assert key_id.hex() == hexid, "the verifier key's id does not match its name and key"
    text, sigs = note.split(b"\n\n", 1)
    text += b"\n"
    pub = Ed25519PublicKey.from_public_bytes(key[1:])
    ok = False
    for line in sigs.decode().splitlines():
        dash, sig_name, sig_b64 = line.split(" ")
        assert dash == "\u2014"
        raw = base64.b64decode(sig_b64)
        if sig_name == name and raw[:4] == key_id:
            pub.verify(raw[4:], text)  # raises on a bad signature
            ok = True
    assert ok, "no signature by the log's key"
    origin, size, root = text.decode().splitlines()[:3]
    assert origin == name, "the checkpoint's origin is not the key's name"
    return int(size), base64.b64decode(root)


def cosigned_by(note, vkey):
    """C2SP tlog-cosignature v1: the witness named by `vkey` (name+hexid+base64(0x04 || key)) cosigned the
    note: a signature line `— name base64(key id || u64 timestamp || Ed25519 signature)` over
    "cosignature/v1\ntime <t>\n" followed by the note's text. Raises if its line is there but does not verify."""
    name, hexid, keyb64 = vkey.strip().split("+", 2)
    key = base64.b64decode(keyb64)
    assert key[0] == 4 and len(key) == 33, "not a cosignature/v1 verifier key"
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    assert key_id.hex() == hexid, "the witness key's id does not match its name and key"
    text, sigs = note.split(b"\n\n", 1)
    text += b"\n"
    pub = Ed25519PublicKey.from_public_bytes(key[1:])
    for line in sigs.decode().splitlines():
        _, sig_name, sig_b64 = line.split(" ")
        raw = base64.b64decode(sig_b64)
        if sig_name == name and raw[:4] == key_id:
            assert len(raw) == 4 + 8 + 64, "a cosignature is key id, timestamp and signature"
            t = int.from_bytes(raw[4:12], "big")
            pub.verify(raw[12:], b"cosignature/v1\ntime %d\n" % t + text)  # raises on a bad signature
            return name
    return None


def check_quorum(note, what):
    names = [n for n in (cosigned_by(note, v) for v in witness_vkeys) if n]
    assert len(names) >= quorum, f"{what}: {len(names)} of {quorum} cosignatures required ({', '.join(names) or 'none'})"
    return names


def tile_path(kind, index, width):
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.insert(0, f"x{index % 1000:03d}")
        index //= 1000
    return f"/log/tile/{kind}/" + "/".join(parts) + ("" if width == 256 else f".p/{width}")


vkey = get("/log/vkey").decode()
served = get("/log/checkpoint")
size, root = open_note(served, vkey)
print(f"checkpoint: {size} entries, signature verified with {vkey.split('+')[0]}")
if witness_vkeys:
    print(f"witnesses: the checkpoint is cosigned by {', '.join(check_quorum(served, 'the checkpoint'))} (quorum {quorum})")

leaves = []
for t in range((size + 255) // 256):
    width = min(256, size - t * 256)
    bundle = get(tile_path("entries", t, width))
    i = 0
    while i < len(bundle):
        n = int.from_bytes(bundle[i:i + 2], "big")
        entry = bundle[i + 2:i + 2 + n]
        e = json.loads(entry)
        assert e["seq"] == len(leaves), "entries out of order"
        assert entry == json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), "entry not in RFC 8785 form"
        leaves.append(leaf(entry))
        i += 2 + n
assert len(leaves) == size
assert mth(leaves) == root, "the entries do not hash to the checkpoint's root"
print(f"tree: {size} entries rebuilt from the entry bundles hash to the signed root")
level0 = get(tile_path("0", 0, min(256, size)))
assert level0 == b"".join(leaves[:256]), "the level-0 tile is not the leaf hashes"

cert = json.loads(get(f"/certificates/{number}", "application/json"))
log = cert["log"]
cp_size, cp_root = open_note(log["checkpoint"].encode(), vkey)
proof = [base64.b64decode(h) for h in log["inclusion_proof"]]
assert json.loads(log["entry"])["number"] == number
assert verify_inclusion(log["index"], cp_size, leaf(log["entry"].encode()), proof, cp_root), "inclusion proof fails"
assert not verify_inclusion(log["index"], cp_size, leaf(log["entry"].encode() + b" "), proof, cp_root)
print(f"inclusion: {number} is entry {log['index']} ({json.loads(log['entry'])['status']}) of the signed tree of {cp_size}")

for first in range(1, size):
    p = json.loads(get(f"/log/proof/consistency?from={first}&to={size}"))
    hashes = [base64.b64decode(h) for h in p["proof"]]
    assert verify_consistency(first, size, mth(leaves[:first]), root, hashes), f"consistency {first} -> {size} fails"
    assert not verify_consistency(first, size, mth(leaves[:first]), hashlib.sha256(b"x").digest(), hashes)
print(f"consistency: proofs from every size 1..{size - 1} to {size} verify")
if witness_vkeys:
    # C2SP tlog-proof@v1: header, extra (the entry), index, inclusion proof lines, empty line, checkpoint.
    bundle = get(f"/certificates/{number}/proof")
    head, note = bundle.split(b"\n\n", 1)
    lines = head.decode().split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1", "not a tlog-proof"
    assert lines[1].startswith("extra ") and lines[2].startswith("index ")
    entry, index = base64.b64decode(lines[1][6:]), int(lines[2][6:])
    proof = [base64.b64decode(h) for h in lines[3:]]
    p_size, p_root = open_note(note, vkey)
    names = check_quorum(note, "the proof's checkpoint")
    assert json.loads(entry)["number"] == number and json.loads(entry)["seq"] == index
    assert verify_inclusion(index, p_size, leaf(entry), proof, p_root), "the tlog-proof's inclusion proof fails"
    print(f"tlog-proof: entry {index} of {number} is in the tree of {p_size} cosigned by {', '.join(names)}")
print("log check: ok")
