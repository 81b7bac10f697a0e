#!/usr/bin/env python3
"""Third-party check of a certificate QR code with a standard COSE library (pycose), no registry code:
decode the base32 after /V/, take the JWK whose kid matches the protected header, verify the COSE_Sign1,
print the CWT claims. Usage: verify_with_pycose.py <QR text> <jwks.json>   (pip install pycose "cbor2<6")"""
import base64, json, sys
import cbor2
from pycose.messages import Sign1Message
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.headers import KID

qr, jwks_path = sys.argv[1], sys.argv[2]
token_b32 = qr[qr.upper().rfind("/V/") + 3:].upper()
token = base64.b32decode(token_b32 + "=" * (-len(token_b32) % 8))
msg = Sign1Message.decode(token)
kid = base64.urlsafe_b64encode(msg.phdr[KID]).rstrip(b"=").decode()
jwk = next(k for k in json.load(open(jwks_path))["keys"] if k["kid"] == kid)
x = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
msg.key = OKPKey(crv=Ed25519, x=x)
ok = msg.verify_signature()
claims = cbor2.loads(msg.payload)
print(json.dumps({"signature_valid": ok, "kid": kid, "iss": claims[1], "iat": claims[6], "exp": claims[4], "gel": claims["gel"]}, ensure_ascii=False))
sys.exit(0 if ok else 1)
