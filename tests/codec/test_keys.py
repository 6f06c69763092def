"""CodecKeys.from_env: parsing, defaults and validation messages that never echo key material."""

import pytest

from payload_codec.codec import CodecConfigError, CodecKeys, generate_key, main
from tests.codec.helpers import KEY_A, KEY_B, b64


def test_unset_means_no_encryption() -> None:
    """Without PAYLOAD_CODEC_KEYS (or with it blank) there is nothing to encrypt with."""
    assert CodecKeys.from_env({}) is None
    assert CodecKeys.from_env({"PAYLOAD_CODEC_KEYS": "  "}) is None


def test_last_listed_key_is_active_by_default() -> None:
    """Keys parse by id, and the last listed id is active unless one is named."""
    env = {"PAYLOAD_CODEC_KEYS": f"old:{b64(KEY_A)}, new:{b64(KEY_B)}"}
    keys = CodecKeys.from_env(env)
    assert keys == CodecKeys(keys={"old": KEY_A, "new": KEY_B}, active_key_id="new")


def test_active_key_can_be_named() -> None:
    """PAYLOAD_CODEC_ACTIVE_KEY picks which listed key encodes."""
    env = {
        "PAYLOAD_CODEC_KEYS": f"old:{b64(KEY_A)},new:{b64(KEY_B)}",
        "PAYLOAD_CODEC_ACTIVE_KEY": "old",
    }
    keys = CodecKeys.from_env(env)
    assert keys is not None and keys.active_key_id == "old"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYLOAD_CODEC_KEYS": b64(KEY_A)}, "entry 1 is not '<key-id>:<base64 key>'"),
        ({"PAYLOAD_CODEC_KEYS": f":{b64(KEY_A)}"}, "entry 1 is not '<key-id>:<base64 key>'"),
        ({"PAYLOAD_CODEC_KEYS": f"a:{b64(KEY_A)},b:not*base64"}, "key 'b' .* not valid base64"),
        ({"PAYLOAD_CODEC_KEYS": f"a:{b64(KEY_A[:16])}"}, "key 'a' is 16 bytes, AES-256 needs 32"),
        ({"PAYLOAD_CODEC_KEYS": f"a:{b64(KEY_A)},a:{b64(KEY_B)}"}, "'a' is listed twice"),
        ({"PAYLOAD_CODEC_KEYS": f"a b:{b64(KEY_A)}"}, "key id 'a b' must be"),
        (
            {"PAYLOAD_CODEC_KEYS": f"a:{b64(KEY_A)}", "PAYLOAD_CODEC_ACTIVE_KEY": "z"},
            "PAYLOAD_CODEC_ACTIVE_KEY='z' is not one of the key ids",
        ),
        ({"PAYLOAD_CODEC_ACTIVE_KEY": "a"}, "PAYLOAD_CODEC_ACTIVE_KEY is set but"),
    ],
)
def test_invalid_settings_name_the_variable_not_the_key(env: dict[str, str], message: str) -> None:
    """Each malformed setting fails with a message naming the variable and never the key bytes."""
    with pytest.raises(CodecConfigError, match=message) as info:
        CodecKeys.from_env(env)
    text = str(info.value)
    assert "PAYLOAD_CODEC_" in text
    for secret in (b64(KEY_A), b64(KEY_B), b64(KEY_A[:16])):
        assert secret not in text


def test_repr_hides_key_material() -> None:
    """Printing or logging CodecKeys shows ids only."""
    keys = CodecKeys(keys={"a": KEY_A}, active_key_id="a")
    assert b64(KEY_A) not in repr(keys) and repr(KEY_A) not in repr(keys)


def test_generated_key_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    """`codec.py generate-key` prints a fresh base64 key that from_env accepts."""
    assert main(["generate-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed != generate_key()
    assert CodecKeys.from_env({"PAYLOAD_CODEC_KEYS": f"k1:{printed}"}) is not None
