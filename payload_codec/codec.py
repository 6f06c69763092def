"""AES-256-GCM payload codec with key ids, so Temporal stores workflow payloads encrypted.

Run `uv run python codec.py generate-key` to print a fresh base64 key for PAYLOAD_CODEC_KEYS.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
ENV_KEYS = "PAYLOAD_CODEC_KEYS"
ENV_ACTIVE_KEY = "PAYLOAD_CODEC_ACTIVE_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_GENERATE_HINT = "generate one with `uv run python codec.py generate-key`"


class CodecConfigError(ValueError):
    """PAYLOAD_CODEC_* settings are malformed; the message names the variable and the fix."""


class PayloadDecryptionError(Exception):
    """A payload cannot be decrypted: unknown key id, wrong key or altered ciphertext."""

    def __init__(self, message: str, *, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass(frozen=True)
class CodecKeys:
    """Key id -> 32-byte AES key, plus the id used for encoding; old ids stay for decoding.

    CodecKeys(keys={"2024-06": old, "2025-01": new}, active_key_id="2025-01")
    """

    # repr=False keeps key material out of logs, tracebacks and settings dumps.
    keys: Mapping[str, bytes] = field(repr=False)
    active_key_id: str

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not _KEY_ID.match(key_id):
                raise CodecConfigError(
                    f"{ENV_KEYS}: key id {key_id!r} must be 1-64 letters, digits, '.', '_' or '-'"
                )
            if len(key) != KEY_BYTES:
                raise CodecConfigError(
                    f"{ENV_KEYS}: key {key_id!r} is {len(key)} bytes, AES-256 needs {KEY_BYTES}; "
                    f"{_GENERATE_HINT}"
                )
        if self.active_key_id not in self.keys:
            raise CodecConfigError(
                f"{ENV_ACTIVE_KEY}={self.active_key_id!r} is not one of the key ids in {ENV_KEYS} "
                f"({', '.join(self.keys) or 'none'}); add that key or pick a listed id"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CodecKeys | None:
        """Parse PAYLOAD_CODEC_KEYS ("id:<b64>,...") and PAYLOAD_CODEC_ACTIVE_KEY; unset: None."""
        raw = env.get(ENV_KEYS, "").strip()
        active = env.get(ENV_ACTIVE_KEY, "").strip()
        if not raw:
            if active:
                raise CodecConfigError(
                    f"{ENV_ACTIVE_KEY} is set but {ENV_KEYS} is empty; set {ENV_KEYS} to "
                    f"'<key-id>:<base64 key>' or unset {ENV_ACTIVE_KEY}"
                )
            return None
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(raw.split(","), start=1):
            key_id, key = _parse_entry(position, entry.strip())
            if key_id in keys:
                raise CodecConfigError(
                    f"{ENV_KEYS}: key id {key_id!r} is listed twice; give each key its own id"
                )
            keys[key_id] = key
        return cls(keys=keys, active_key_id=active or key_id)


def _parse_entry(position: int, entry: str) -> tuple[str, bytes]:
    # Messages cite the entry's position and id only: the entry itself may be key material.
    key_id, sep, encoded = entry.partition(":")
    key_id = key_id.strip()
    if not sep or not key_id:
        raise CodecConfigError(
            f"{ENV_KEYS}: entry {position} is not '<key-id>:<base64 key>'; "
            "separate entries with ','"
        )
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CodecConfigError(
            f"{ENV_KEYS}: key {key_id!r} (entry {position}) is not valid base64; {_GENERATE_HINT}"
        ) from None
    return key_id, key


class AesGcmCodec(PayloadCodec):
    """Encrypts each payload with the active key and decrypts with whichever key id it names."""

    def __init__(self, keys: CodecKeys) -> None:
        super().__init__()
        self._active_key_id = keys.active_key_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._active_key_id]
        key_id = self._active_key_id.encode()
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=data)
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"cannot decrypt payload: encryption key id {key_id!r} is not configured "
                f"(known: {', '.join(self._ciphers)}); add that key to {ENV_KEYS}",
                key_id=key_id,
            )
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except (InvalidTag, ValueError):
            # ValueError: data too short to hold a nonce, i.e. truncated or altered.
            raise PayloadDecryptionError(
                f"cannot decrypt payload with encryption key id {key_id!r}: authentication "
                "failed (the key under that id differs from the one that encrypted it, "
                "or the payload was altered)",
                key_id=key_id,
            ) from None
        return Payload.FromString(plain)


def data_converter(keys: CodecKeys | None) -> DataConverter:
    """The pydantic data converter, encrypting payloads and failure messages when keys are given."""
    if keys is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=AesGcmCodec(keys),
        # Failure messages and stack traces often quote tenant ids and key URLs; this moves
        # them into an encrypted payload too.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def generate_key() -> str:
    """A fresh random AES-256 key, base64-encoded for PAYLOAD_CODEC_KEYS."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def main(argv: list[str]) -> int:
    if argv != ["generate-key"]:
        print("usage: uv run python codec.py generate-key", file=sys.stderr)
        return 2
    print(generate_key())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
