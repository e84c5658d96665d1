"""A development identity provider inside the local host, so that `SHOPPER_AUTH=jwt` works on one machine with no
key in the browser: `GET /.devhost/jwks.json` publishes the signing key, `POST /.devhost/token` with
`{"userId": "..."}` signs a token for that shopper. Only the local host has it, never the function app, and only
when SHOPPER_AUTH=jwt and SHOPPER_JWKS_URL is empty: then the settings point at the host itself.

Anyone who reaches the host can get a token for any shopper: this stands in for a real sign-in (Entra External ID
in Azure), it is not one. The RSA key lives in a file beside the SQLite store (`.data/` by default, mode 0600), so
every worker process signs and accepts the same tokens and tokens survive a restart."""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import Settings
from shared.domain.errors import ValidationError
from shared.domain.validation import check_id

log = logging.getLogger("devhost")
KEY_FILE_ENV = "DEVHOST_IDENTITY_KEY_FILE"   # set by the primary process; worker processes inherit it
KEY_FILE_NAME = "devhost-identity-key.pem"
LOCAL_AUDIENCE = "personalization-local"
TOKEN_LIFETIME_SECONDS = 3600
MAX_BODY_BYTES = 4096
BASE_PATH = "/.devhost"


@dataclass(frozen=True)
class LocalIdentityProvider:
    private_key: rsa.RSAPrivateKey
    issuer: str
    audience: str
    claim: str

    @functools.cached_property
    def public_jwk(self) -> dict:
        numbers = self.private_key.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e)}
        # RFC 7638 thumbprint: the kid changes whenever the key does.
        thumbprint = hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
        return {**jwk, "kid": base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode(), "use": "sig",
                "alg": "RS256"}

    def issue(self, user_id: str, now: float | None = None) -> dict:
        now = int(time.time() if now is None else now)
        claims = {"iss": self.issuer, "aud": self.audience, "sub": user_id, self.claim: user_id, "iat": now,
                  "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS}
        token = jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.public_jwk["kid"]})
        return {"accessToken": token, "tokenType": "Bearer", "expiresIn": TOKEN_LIFETIME_SECONDS, "userId": user_id}

    def describe(self, base_url: str) -> list[str]:
        return [f"Shopper sign-in (SHOPPER_AUTH=jwt, development identity provider at {base_url}{BASE_PATH}; "
                "anyone who reaches this host can get a token for any shopper):",
                f"  TOKEN=$(curl -s -H 'Accept: text/plain' -d '{{\"userId\": \"demo-user-0001\"}}' "
                f"{base_url}{BASE_PATH}/token)",
                f"  curl -H \"Authorization: Bearer $TOKEN\" {base_url}/api/users/demo-user-0001/recommendations"]

    # -- HTTP -------------------------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", f"{BASE_PATH}/jwks.json", _tagged(self._jwks))
        router.add_route("*", f"{BASE_PATH}/token", _tagged(self._token))

    async def _jwks(self, request: web.Request) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", f"{request.method} is not allowed here", {"Allow": "GET"})
        return web.json_response({"keys": [self.public_jwk]}, headers={"Cache-Control": "max-age=300"})

    async def _token(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return _error(405, "method_not_allowed", f"{request.method} is not allowed here", {"Allow": "POST"})
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
        try:
            user_id = _user_id(body)
        except ValidationError as error:
            return _error(400, error.code, error.message, details=error.details)
        issued = self.issue(user_id)
        if request.headers.get("Accept", "").strip().lower() == "text/plain":   # TOKEN=$(curl ...) without jq
            return web.Response(text=issued["accessToken"], content_type="text/plain")
        return web.json_response(issued)


def _tagged(handler):
    async def tagged(request: web.Request) -> web.Response:
        response = await handler(request)
        response.headers["X-Worker-Pid"] = str(os.getpid())   # which process answered, as the host's own routes say
        return response
    return tagged


def _user_id(body: bytes) -> str:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("the body is not valid JSON") from None
    if not isinstance(document, dict) or set(document) != {"userId"}:
        raise ValidationError('the body must be {"userId": "..."}', {"field": "userId"})
    return check_id(document["userId"], "userId")


def configure(environ, host: str, port: int) -> LocalIdentityProvider | None:
    """In the primary process, before settings are read: with SHOPPER_AUTH=jwt and no SHOPPER_JWKS_URL, make the
    settings point at this host (issuer, audience, JWKS URL) and share the key file with the worker processes."""
    if environ.get("SHOPPER_AUTH", "").strip() != "jwt" or environ.get("SHOPPER_JWKS_URL", "").strip():
        return None
    address = "127.0.0.1" if host in ("", "0.0.0.0") else ("[::1]" if host == "::" else host)
    base = f"http://{address}:{port}{BASE_PATH}"
    sqlite_path = environ.get("SQLITE_PATH", "").strip() or Settings().sqlite_path
    key_file = os.path.join(os.path.dirname(os.path.abspath(sqlite_path)), KEY_FILE_NAME)
    _load_or_create_key(key_file)
    environ["SHOPPER_JWKS_URL"] = f"{base}/jwks.json"
    if not environ.get("SHOPPER_JWT_ISSUER", "").strip():
        environ["SHOPPER_JWT_ISSUER"] = base
    if not environ.get("SHOPPER_JWT_AUDIENCE", "").strip():
        environ["SHOPPER_JWT_AUDIENCE"] = LOCAL_AUDIENCE
    environ[KEY_FILE_ENV] = key_file
    return from_environment(environ)


def from_environment(environ=None) -> LocalIdentityProvider | None:
    """The provider this process serves (primary and worker processes alike), or None when there is none."""
    environ = os.environ if environ is None else environ
    key_file = environ.get(KEY_FILE_ENV)
    if not key_file:
        return None
    return LocalIdentityProvider(_load_or_create_key(key_file), environ["SHOPPER_JWT_ISSUER"],
                                 environ["SHOPPER_JWT_AUDIENCE"], environ.get("SHOPPER_JWT_CLAIM", "").strip() or "sub")


def add_routes(router: web.UrlDispatcher) -> None:
    """The hook for the local host's web app: the provider's two routes when this host is one."""
    provider = from_environment()
    if provider is not None:
        provider.add_routes(router)


def _load_or_create_key(path: str) -> rsa.RSAPrivateKey:
    try:
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
        log.warning("%s holds no RSA key; making a new one", path)
    except FileNotFoundError:
        pass
    except ValueError:
        log.warning("%s is not a readable PEM key; making a new one", path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(temporary, path)   # atomic: a reader sees the old file or the whole new one
    return key


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _error(status: int, code: str, message: str, headers: dict | None = None, details: object = None):
    return web.json_response({"error": {"code": code, "message": message, "details": details}}, status=status,
                             headers=headers)
