"""Verified shopper identity for SHOPPER_AUTH=jwt: OpenID Connect bearer tokens (for example from Microsoft Entra
External ID), checked with PyJWT against the provider's published keys (JWKS).

Checked: the signature with a key from SHOPPER_JWKS_URL, the algorithm (asymmetric ones only and the one the key is
bound to: no `none`, no HS256 signed with a public key), expiry and not-before (60 s leeway for clock skew), issuer
and audience. The user id is the SHOPPER_JWT_CLAIM claim and must be a valid id. Keys are cached; a token with an
unknown `kid` (the provider rotated its keys) refetches the set, at most once per `min_refresh` seconds, so random
kids cannot turn every request into a fetch. A provider that cannot be reached is UnavailableError (503)."""
from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections import OrderedDict
import urllib.request
from typing import Any, Callable

import jwt

from shared.domain.errors import ConfigurationError, UnauthorizedError, UnavailableError, ValidationError
from shared.domain.validation import check_id

log = logging.getLogger("identity")

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
KEY_TYPES = ("RSA", "EC")          # asymmetric only: an `oct` key would make HS256 possible
LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 16 * 1024
MAX_JWKS_BYTES = 1024 * 1024
REALM = "personalization"
VERIFIED_CACHE_SIZE = 2048   # tokens; a shopper's session sends one token with every request


class InvalidTokenError(UnauthorizedError):
    """401 with an RFC 6750 challenge: no token at all gets a bare one, a rejected token says why."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.www_authenticate = (f'Bearer realm="{REALM}"' if missing else
                                 f'Bearer realm="{REALM}", error="invalid_token", error_description="{message}"')


def fetch_url(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the configured JWKS URL
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("the JWKS document is larger than 1 MB")
    return body


class JwksCache:
    """The provider's signing keys by kid, thread-safe. `max_age`: known keys are refetched after that long
    (kept if the refetch fails); `min_refresh`: no two fetches closer together than that."""

    def __init__(self, url: str, *, fetch: Callable[[str, float], bytes] = fetch_url,
                 clock: Callable[[], float] = time.monotonic, min_refresh: float = 10.0, max_age: float = 3600.0,
                 timeout: float = 5.0):
        self.url, self._fetch, self._clock = url, fetch, clock
        self.min_refresh, self.max_age, self.timeout = min_refresh, max_age, timeout
        self._lock = threading.Lock()
        self._keys: dict[str | None, jwt.PyJWK] | None = None
        self._loaded_at = self._attempted_at = float("-inf")
        self.fetches = 0
        self.generation = 0   # changes whenever the set of keys does

    def ready(self, kid: str | None) -> bool:
        """True when `signing_key(kid)` will not fetch: the key is cached and fresh enough."""
        return self._find(kid) is not None and self.fresh()

    def fresh(self) -> bool:
        return self._clock() - self._loaded_at < self.max_age

    def signing_key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            may_fetch = now - self._attempted_at >= self.min_refresh
            if self._keys is None:
                if not may_fetch:
                    raise UnavailableError("the identity provider's keys are not available yet",
                                           retry_after=self.min_refresh)
                self._refresh(now)
            elif may_fetch and (now - self._loaded_at >= self.max_age or self._find(kid) is None):
                self._refresh(now, keep_on_failure=kid in self._keys)
            key = self._find(kid)
        if key is None:
            raise InvalidTokenError("the token is signed with a key the identity provider does not publish")
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys or {}
        if kid is None and len(keys) == 1:   # a provider with a single key may leave kid out
            return next(iter(keys.values()))
        return keys.get(kid)

    def _refresh(self, now: float, keep_on_failure: bool = False) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            keys = parse_jwks(self._fetch(self.url, self.timeout))
        except (OSError, ValueError, http.client.HTTPException) as error:   # URLError is an OSError
            if keep_on_failure:
                log.warning("could not refresh the signing keys from %s (keeping the cached ones): %s", self.url, error)
                return
            raise UnavailableError("the identity provider's signing keys cannot be fetched",
                                   {"reason": str(error)[:200]}, retry_after=self.min_refresh) from None
        if self._keys is None or set(keys) != set(self._keys) or any(
                keys[kid].key != self._keys[kid].key for kid in keys):
            self.generation += 1
        self._keys, self._loaded_at = keys, now


def parse_jwks(body: bytes) -> dict[str | None, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by kid; ValueError when there are none."""
    document = json.loads(body)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS document has no keys list")
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in KEY_TYPES or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALGORITHMS:
            keys[entry.get("kid")] = key
    if not keys:
        raise ValueError("the JWKS document has no usable signing key")
    return keys


class TokenVerifier:
    """Bearer token -> the user id it was issued for, or InvalidTokenError."""

    def __init__(self, keys: JwksCache, issuer: str, audience: str, claim: str = "sub",
                 leeway: float = LEEWAY_SECONDS):
        self.keys, self.issuer, self.audience, self.claim, self.leeway = keys, issuer, audience, claim, leeway
        # Verified tokens until they expire: PyJWT takes about 0.4 ms to parse and check one, the cache a dict
        # lookup. Emptied whenever the provider's keys change (a key may have been withdrawn).
        self._verified: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._verified_generation = -1
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "TokenVerifier":
        # Checked here, not with the other settings: on the local host an empty SHOPPER_JWKS_URL means its own
        # development provider (devhost/identity.py), which fills these in before the settings are read.
        missing = [name for name, value in (("SHOPPER_JWKS_URL", settings.shopper_jwks_url),
                                            ("SHOPPER_JWT_ISSUER", settings.shopper_jwt_issuer),
                                            ("SHOPPER_JWT_AUDIENCE", settings.shopper_jwt_audience)) if not value]
        if missing:
            raise ConfigurationError(f"SHOPPER_AUTH=jwt needs {', '.join(missing)}")
        return cls(JwksCache(settings.shopper_jwks_url), settings.shopper_jwt_issuer, settings.shopper_jwt_audience,
                   settings.shopper_jwt_claim)

    def ready(self, token: str) -> bool:
        """True when verifying `token` needs no key fetch (callers on an event loop fetch in a thread first)."""
        if self._cached(token) is not None:
            return True
        try:
            return self.keys.ready(jwt.get_unverified_header(token).get("kid"))
        except jwt.PyJWTError:
            return True   # malformed: verification fails without a fetch

    def prefetch(self, token: str) -> None:
        """Load the key `token` names (may fetch); errors surface again when the token is verified."""
        try:
            self._key_for(token)
        except (InvalidTokenError, UnavailableError):
            pass

    def user_id(self, token: str) -> str:
        user = self._cached(token)
        if user is not None:
            return user
        key = self._key_for(token)
        try:
            claims = jwt.decode(token, key=key, algorithms=list(ALGORITHMS), audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway,
                                options={"require": ["exp", "iss", "aud"], "verify_signature": True})
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise InvalidTokenError("the token was issued by another issuer") from None
        except jwt.InvalidAudienceError:
            raise InvalidTokenError("the token is meant for another audience") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidTokenError(f"the token has no {error.claim} claim") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("the token's signature or algorithm is not valid") from None
        user = self._user(claims)
        self._remember(token, user, float(claims["exp"]))
        return user

    def _cached(self, token: str) -> str | None:
        with self._lock:
            if self._verified_generation != self.keys.generation:
                self._verified.clear()
                self._verified_generation = self.keys.generation
            hit = self._verified.get(token)
            if hit is None or not self.keys.fresh():   # stale keys: verify again, which refetches them
                return None
            if time.time() >= hit[1] + self.leeway:
                del self._verified[token]
                return None
            return hit[0]

    def _remember(self, token: str, user: str, expires: float) -> None:
        with self._lock:
            if self._verified_generation != self.keys.generation:
                return   # verified with keys that changed meanwhile: do not keep it
            self._verified[token] = (user, expires)
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)

    def _key_for(self, token: str) -> jwt.PyJWK:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidTokenError("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidTokenError("the token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidTokenError("the token's algorithm is not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("the token's kid is not a string")
        return self.keys.signing_key(kid)

    def _user(self, claims: dict[str, Any]) -> str:
        user = claims.get(self.claim)
        if not isinstance(user, str) or not user:
            raise InvalidTokenError(f"the token has no {self.claim} claim")
        try:
            return check_id(user, "userId")
        except ValidationError:
            raise InvalidTokenError(f"the token's {self.claim} claim is not a valid user id") from None
