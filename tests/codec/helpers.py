"""Keys and payload helpers shared by the codec tests."""

import base64

from payload_codec.codec import CodecKeys

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
TENANT_ID = "8f14e45f-ceea-467f-a0e6-1c0bbd9e2f3c"
KEY_URL = "https://contoso-cmk.vault.azure.net/keys/disk-key/0123456789abcdef0123456789abcdef"


def keys(active: str = "a", **extra: bytes) -> CodecKeys:
    """Key "a" (KEY_A) plus any extra ids, with the given active id."""
    return CodecKeys(keys={"a": KEY_A, **extra}, active_key_id=active)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()
