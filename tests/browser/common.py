"""What the browser scripts share: an authenticator app's TOTP code and the phone screen they use."""
import base64
import hashlib
import hmac
import struct

PHONE = {"width": 360, "height": 740}


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits (an authenticator app, in ten lines)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"
