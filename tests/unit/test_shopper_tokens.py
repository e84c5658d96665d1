"""shared.identity against a real local JWKS server and tokens signed with keys the test generates."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.domain.errors import UnauthorizedError, UnavailableError
from shared.identity import JwksCache, TokenVerifier, parse_jwks
from tests.fakes.oidc_provider import AUDIENCE, ISSUER, OidcProvider


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def provider():
    server = OidcProvider()
    yield server
    server.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def verifier(provider, clock):
    return TokenVerifier(JwksCache(provider.url, clock=clock, min_refresh=10, max_age=3600), ISSUER, AUDIENCE)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)])


def test_a_valid_token_gives_its_subject(provider, verifier):
    assert verifier.user_id(provider.token("shopper-7")) == "shopper-7"


def test_an_ec_key_works_too(provider, verifier):
    provider.add_key("ec-1", kind="EC")
    assert verifier.user_id(provider.token("shopper-ec", kid="ec-1")) == "shopper-ec"


def test_the_configured_claim_names_the_user(provider, clock):
    verifier = TokenVerifier(JwksCache(provider.url, clock=clock), ISSUER, AUDIENCE, claim="oid")
    assert verifier.user_id(provider.token("ignored", oid="object-id-1")) == "object-id-1"
    with pytest.raises(UnauthorizedError, match="no oid claim"):
        verifier.user_id(provider.token("no-oid"))


@pytest.mark.parametrize("change, message", [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"iss": "https://evil.example/"}, "another issuer"),
    ({"aud": "api://someone-else"}, "another audience"),
    ({"exp": None}, "no exp claim"),
    ({"iss": None}, "no iss claim"),
    ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ({"sub": "a/b"}, "not a valid user id"),
    ({"sub": None}, "no sub claim"),
])
def test_bad_claims_are_rejected(provider, verifier, change, message):
    with pytest.raises(UnauthorizedError, match=message) as raised:
        verifier.user_id(provider.token(**change))
    assert raised.value.www_authenticate.startswith('Bearer realm="personalization", error="invalid_token"')


def test_a_tampered_token_is_rejected(provider, verifier):
    header, claims, signature = provider.token("shopper-1").split(".")
    forged = json.loads(base64.urlsafe_b64decode(claims + "=="))
    forged["sub"] = "shopper-2"
    with pytest.raises(UnauthorizedError, match="signature"):
        verifier.user_id(".".join([header, _b64(json.dumps(forged).encode()), signature]))


def test_alg_none_is_rejected(provider, verifier):
    claims = jwt.decode(provider.token(), options={"verify_signature": False})
    with pytest.raises(UnauthorizedError, match="algorithm is not allowed"):
        verifier.user_id(unsigned({"alg": "none", "kid": "key-1", "typ": "JWT"}, claims))


def test_hs256_signed_with_the_public_key_is_rejected(provider, verifier):
    """The classic key confusion: HMAC with the RSA public key (which anyone can read from the JWKS) as secret."""
    claims = jwt.decode(provider.token(), options={"verify_signature": False})
    public_pem = provider.keys["key-1"].public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    head = _b64(json.dumps({"alg": "HS256", "kid": "key-1", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(UnauthorizedError, match="algorithm is not allowed"):
        verifier.user_id(f"{head}.{body}.{_b64(signature)}")


def test_a_token_whose_alg_differs_from_the_key_is_rejected(provider, verifier):
    token = provider.token(algorithm="RS512")   # signed with the right key, but the JWKS binds it to RS256
    with pytest.raises(UnauthorizedError, match="signature or algorithm"):
        verifier.user_id(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 20000])
def test_garbage_is_rejected(verifier, token):
    with pytest.raises(UnauthorizedError):
        verifier.user_id(token)


def test_a_key_that_is_not_published_is_rejected(provider, verifier):
    provider.add_key("key-private", publish=False)
    with pytest.raises(UnauthorizedError, match="does not publish"):
        verifier.user_id(provider.token(kid="key-private"))


def test_key_rotation_an_unknown_kid_refetches_the_keys(provider, verifier, clock):
    assert verifier.user_id(provider.token("before")) == "before"
    assert provider.fetches == 1
    provider.rotate("key-2")
    clock.now += 11
    assert verifier.user_id(provider.token("after", kid="key-2")) == "after"
    assert provider.fetches == 2
    clock.now += 11   # the old key is gone from the set now
    with pytest.raises(UnauthorizedError):
        verifier.user_id(provider.token("old", kid="key-1"))


def test_unknown_kids_refetch_at_most_once_per_min_refresh(provider, verifier, clock):
    verifier.user_id(provider.token())
    for number in range(5):
        with pytest.raises(UnauthorizedError):
            verifier.user_id(provider.token(header_kid=f"rogue-{number}"))
    assert provider.fetches == 1   # all within min_refresh of the first fetch
    clock.now += 10
    for number in range(5):
        with pytest.raises(UnauthorizedError):
            verifier.user_id(provider.token(header_kid=f"later-{number}"))
    assert provider.fetches == 2


def test_keys_are_cached_and_refreshed_after_max_age(provider, verifier, clock):
    for _ in range(3):
        verifier.user_id(provider.token())
    assert provider.fetches == 1
    clock.now += 3601
    verifier.user_id(provider.token())
    assert provider.fetches == 2


def test_an_unreachable_provider_is_unavailable_not_a_crash(provider, verifier):
    provider.down = True
    with pytest.raises(UnavailableError) as raised:
        verifier.user_id(provider.token())
    assert raised.value.retry_after


def test_cached_keys_outlive_a_provider_outage(provider, verifier, clock):
    verifier.user_id(provider.token())
    provider.down = True
    clock.now += 4000   # stale: a refetch is tried, fails, the cached keys stay
    assert verifier.user_id(provider.token("still")) == "still"
    assert provider.fetches == 2
    clock.now += 11
    with pytest.raises(UnavailableError):   # a new kid while the provider is down: cannot tell
        verifier.user_id(provider.token(header_kid="new-while-down"))


def test_ready_says_whether_a_fetch_is_needed(provider, verifier):
    token = provider.token()
    assert not verifier.ready(token)
    verifier.prefetch(token)
    assert verifier.ready(token) and provider.fetches == 1


def test_symmetric_and_encryption_keys_in_the_jwks_are_ignored():
    document = {"keys": [{"kty": "oct", "k": _b64(b"secret"), "kid": "hmac"},
                         {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"}]}
    with pytest.raises(ValueError, match="no usable signing key"):
        parse_jwks(json.dumps(document).encode())


def test_a_verified_token_is_remembered_until_it_expires(provider, verifier):
    token = provider.token("remembered", exp=int(time.time()) - 30)   # expired, but within the 60 s leeway
    assert verifier.user_id(token) == "remembered"
    provider.down = True   # a remembered token needs neither the keys nor the provider
    assert verifier.user_id(token) == "remembered" and verifier.ready(token)
    verifier.leeway = 0    # now past exp + leeway: the remembered entry must not be served
    with pytest.raises(UnauthorizedError, match="expired"):
        verifier.user_id(token)


def test_remembered_tokens_are_forgotten_when_the_keys_change(provider, verifier, clock):
    token = provider.token("before-rotation")
    assert verifier.user_id(token) == "before-rotation"
    provider.rotate("key-2")   # key-1 is withdrawn
    clock.now += 11
    verifier.user_id(provider.token("after", kid="key-2"))   # the unknown kid refetches the set
    with pytest.raises(UnauthorizedError, match="does not publish"):
        verifier.user_id(token)
