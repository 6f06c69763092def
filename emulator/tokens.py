"""RS256 access tokens: issuing and validating JWTs.

The signing key is persisted in the data directory.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNING_KEY_FILE = "token-signing-key.pem"
TOKEN_LIFETIME_SECONDS = 3599
ARM_AUDIENCE = "https://management.azure.com"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
# Scope resource -> audience claim; Azure accepts the trailing-slash spelling of ARM too.
AUDIENCE_FOR_RESOURCE = {
    "https://management.azure.com": ARM_AUDIENCE,
    "https://management.azure.com/": ARM_AUDIENCE,
    "https://management.core.windows.net": ARM_AUDIENCE,
    "https://management.core.windows.net/": ARM_AUDIENCE,
    "https://graph.microsoft.com": GRAPH_AUDIENCE,
    # Key Vault and Managed HSM data planes (keyvault.py answers their challenge).
    "https://vault.azure.net": "https://vault.azure.net",
    "https://managedhsm.azure.net": "https://managedhsm.azure.net",
}


class TokenInvalid(Exception):
    """A bearer token that must be refused; the message says why without echoing the token."""


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    app_id: str
    object_id: str
    audience: str


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenIssuer:
    """Signs and checks tokens for every emulated tenant with one persisted key."""

    def __init__(self, data_dir: Path):
        path = data_dir / SIGNING_KEY_FILE
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            tmp.chmod(0o600)
            tmp.replace(path)
        self._key = key
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = hashlib.sha256(public_der).hexdigest()[:32]

    @staticmethod
    def issuer(base_url: str, tenant_id: str) -> str:
        """Issuer of the tenant as seen at `base_url` (the host the client used)."""
        return f"{base_url}/{tenant_id}/v2.0"

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.key_id,
                    "n": _b64url_uint(numbers.n),
                    "e": _b64url_uint(numbers.e),
                }
            ]
        }

    def issue(
        self,
        *,
        base_url: str,
        tenant_id: str,
        app_id: str,
        object_id: str,
        audience: str,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "aud": audience,
            "iss": self.issuer(base_url, tenant_id),
            "tid": tenant_id,
            "appid": app_id,
            "azp": app_id,
            "oid": object_id,
            "sub": object_id,
            "idtyp": "app",
            "ver": "2.0",
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def validate(self, token: str, *, audience: str) -> TokenClaims:
        """Check signature, expiry, not-before and audience; the caller checks the tenant."""
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=audience,
                options={"require": ["exp", "iat", "nbf", "aud", "iss", "tid"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("The token is expired.") from None
        except jwt.InvalidAudienceError:
            raise TokenInvalid(
                f"The access token has an invalid audience; expected '{audience}'."
            ) from None
        except jwt.InvalidSignatureError:
            raise TokenInvalid("The access token signature is invalid.") from None
        except jwt.PyJWTError as error:
            raise TokenInvalid(f"The access token is invalid: {type(error).__name__}.") from None
        if not str(claims["iss"]).endswith(f"/{claims['tid']}/v2.0"):
            raise TokenInvalid("The access token has an invalid issuer.")
        return TokenClaims(
            tenant_id=claims["tid"],
            app_id=claims.get("appid", ""),
            object_id=claims.get("oid", ""),
            audience=claims["aud"],
        )
