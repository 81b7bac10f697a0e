#!/usr/bin/env python3
"""Third-party check of the registry's public log, written from RFC 9162 and the C2SP texts (signed-note,
tlog-checkpoint, tlog-tiles) with only hashlib and cryptography, no registry code:
  1. the note verifier key (/log/vkey) and its key id; the checkpoint's Ed25519 signed-note signature;
  2. the tree rebuilt from the entry bundles hashes to the checkpoint's root (RFC 9162 2.1.1);
  3. a certificate's inclusion proof from its JSON verifies (RFC 9162 2.1.3.2);
  4. consistency proofs from every older size verify (RFC 9162 2.1.4.2).
Usage: log_check.py <registry base URL> <certificate number>"""
import base64, hashlib, json, sys, urllib.request
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

base, number = sys.argv[1].rstrip("/"), sys.argv[2]


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


def tile_path(kind, index, width):
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.insert(0, f"x{index % 1000:03d}")
        index //= 1000
    return f"/log/tile/{kind}/" + "/".join(parts) + ("" if width == 256 else f".p/{width}")


vkey = get("/log/vkey").decode()
size, root = open_note(get("/log/checkpoint"), vkey)
print(f"checkpoint: {size} entries, signature verified with {vkey.split('+')[0]}")

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
print("log check: ok")
