"""AesGcmCodec: encryption format, rotation by key id and clear decryption errors."""

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter

from payload_codec.codec import (
    ENCODING,
    KEY_ID_METADATA,
    AesGcmCodec,
    CodecKeys,
    PayloadDecryptionError,
    data_converter,
)
from tests.codec.helpers import KEY_A, KEY_B, KEY_URL, TENANT_ID, keys


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


async def test_round_trip_restores_the_original_payload() -> None:
    """Decoding an encoded payload gives back the identical payload, metadata included."""
    codec = AesGcmCodec(keys())
    original = [_payload(TENANT_ID), _payload(KEY_URL)]
    assert await codec.decode(await codec.encode(original)) == original


async def test_encoded_payload_is_opaque_and_names_the_key_id() -> None:
    """An encoded payload carries only the encrypted encoding and key id, never the plaintext."""
    (encoded,) = await AesGcmCodec(keys()).encode([_payload(TENANT_ID)])
    assert dict(encoded.metadata) == {"encoding": ENCODING, KEY_ID_METADATA: b"a"}
    assert TENANT_ID.encode() not in encoded.SerializeToString()


async def test_each_encoding_uses_a_fresh_nonce() -> None:
    """Encoding the same payload twice yields different ciphertexts."""
    codec = AesGcmCodec(keys())
    first, second = await codec.encode([_payload(TENANT_ID), _payload(TENANT_ID)])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_unencrypted_payloads_pass_through_decode() -> None:
    """Payloads written before encryption was switched on decode unchanged."""
    plain = _payload(TENANT_ID)
    assert await AesGcmCodec(keys()).decode([plain]) == [plain]


async def test_rotation_keeps_old_payloads_readable() -> None:
    """A payload encoded under the old active key decodes after a new key becomes active."""
    (old,) = await AesGcmCodec(keys("a")).encode([_payload(TENANT_ID)])
    rotated = AesGcmCodec(keys("b", b=KEY_B))
    (new,) = await rotated.encode([_payload(KEY_URL)])
    assert new.metadata[KEY_ID_METADATA] == b"b"
    assert await rotated.decode([old, new]) == [_payload(TENANT_ID), _payload(KEY_URL)]


async def test_unknown_key_id_fails_naming_the_id() -> None:
    """Decoding with no key for the payload's key id raises an error naming that id."""
    (encoded,) = await AesGcmCodec(keys("b", b=KEY_B)).encode([_payload(TENANT_ID)])
    with pytest.raises(PayloadDecryptionError, match="key id 'b' is not configured") as info:
        await AesGcmCodec(keys()).decode([encoded])
    assert info.value.key_id == "b"


async def test_tampered_ciphertext_fails_the_tag_check() -> None:
    """A flipped ciphertext bit fails authentication with an error naming the key id."""
    (encoded,) = await AesGcmCodec(keys()).encode([_payload(TENANT_ID)])
    data = bytearray(encoded.data)
    data[-1] ^= 1
    encoded.data = bytes(data)
    with pytest.raises(PayloadDecryptionError, match="key id 'a': authentication failed"):
        await AesGcmCodec(keys()).decode([encoded])


async def test_wrong_key_under_same_id_fails_without_leaking_key() -> None:
    """Different key material under the same id fails clearly and the message holds no key bytes."""
    (encoded,) = await AesGcmCodec(keys()).encode([_payload(TENANT_ID)])
    wrong = AesGcmCodec(CodecKeys(keys={"a": KEY_B}, active_key_id="a"))
    with pytest.raises(PayloadDecryptionError) as info:
        await wrong.decode([encoded])
    message = str(info.value)
    assert "'a'" in message
    assert KEY_A.hex() not in message and KEY_B.hex() not in message


async def test_truncated_payload_fails_clearly() -> None:
    """A payload too short to hold a nonce is reported as altered, not as a crash."""
    truncated = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"a"}, data=b"short")
    with pytest.raises(PayloadDecryptionError, match="key id 'a'"):
        await AesGcmCodec(keys()).decode([truncated])


def test_data_converter_without_keys_is_plain_pydantic() -> None:
    """No keys means the pydantic converter with no codec."""
    converter = data_converter(None)
    assert isinstance(converter, DataConverter)
    assert converter.payload_codec is None


async def test_data_converter_with_keys_encrypts_values_and_failures() -> None:
    """With keys the converter encrypts values and failure messages alike."""
    converter = data_converter(keys())
    (payload,) = await converter.encode([{"tenant": TENANT_ID}])
    assert payload.metadata["encoding"] == ENCODING
    assert await converter.decode([payload], [dict]) == [{"tenant": TENANT_ID}]
    failure = Failure()
    await converter.encode_failure(RuntimeError(f"vault {KEY_URL} unreachable"), failure)
    assert KEY_URL.encode() not in failure.SerializeToString()
