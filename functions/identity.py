"""Which shopper a request speaks for, per SHOPPER_AUTH (docs/api.md, "Shopper identity").

- `key`: the caller is a trusted backend holding the function key; if it forwards App Service authentication's
  `X-MS-CLIENT-PRINCIPAL-ID`, that shopper may only touch their own data.
- `easyauth`: shopper routes need `X-MS-CLIENT-PRINCIPAL-ID`. Only safe behind App Service authentication, which
  strips that header from what clients send and sets it itself.
- `jwt`: shopper routes need `Authorization: Bearer <token>`, verified by shared.identity.

The Functions host checks keys before a function runs, and a function cannot check them itself: a route that a
browser calls without a key has to be registered ANONYMOUS. So the auth levels are chosen at import from the
SHOPPER_AUTH environment variable (an optional setting with a default: no I/O), and in `easyauth` and `jwt` mode the
function itself enforces the identity on every shopper route."""
from __future__ import annotations

import asyncio
import os

import azure.functions as func

from shared import bootstrap
from shared.domain.errors import ConfigurationError, ForbiddenError
from shared.identity import InvalidTokenError

PRINCIPAL_ID_HEADER = "X-MS-CLIENT-PRINCIPAL-ID"
VERIFIED_MODES = ("easyauth", "jwt")
INDEXED_MODE = os.environ.get("SHOPPER_AUTH", "").strip() or "key"


def shopper_auth_level() -> func.AuthLevel:
    """Shopper routes: anonymous at the host when the function itself checks the shopper's identity."""
    return func.AuthLevel.ANONYMOUS if INDEXED_MODE in VERIFIED_MODES else func.AuthLevel.FUNCTION


def public_read_auth_level() -> func.AuthLevel:
    """The catalogue reads a storefront makes before anyone signs in (product, similar, popular, ...)."""
    return shopper_auth_level()


def _mode() -> str:
    mode = bootstrap.settings().shopper_auth
    if mode == "key" and INDEXED_MODE != "key":
        # The routes were registered anonymous: without an identity check they would be open to anyone.
        raise ConfigurationError(f"SHOPPER_AUTH is 'key' now but was {INDEXED_MODE!r} when the functions were "
                                 "indexed; restart the app")
    return mode


def verified_shopper(req: func.HttpRequest) -> str | None:
    """The user id the request proves it speaks for; None in `key` mode (a trusted caller, no proof asked)."""
    mode = _mode()
    if mode == "easyauth":
        principal = req.headers.get(PRINCIPAL_ID_HEADER)
        if not principal:
            raise InvalidTokenError("sign in first: App Service authentication sent no shopper principal",
                                    missing=True)
        return principal
    if mode == "jwt":
        return bootstrap.shopper_tokens().user_id(bearer_token(req))
    return None


def bearer_token(req: func.HttpRequest) -> str:
    scheme, _, token = (req.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("an Authorization: Bearer token is required", missing=True)
    return token.strip()


def ensure_shopper(req: func.HttpRequest, user_id: str) -> None:
    """A shopper may only touch their own user id."""
    if _mode() == "key":
        shopper = req.headers.get(PRINCIPAL_ID_HEADER)
    else:
        shopper = verified_shopper(req)
    if shopper is not None and shopper != user_id:
        raise ForbiddenError("a shopper may only access their own data")


async def ensure_shopper_async(req: func.HttpRequest, user_id: str) -> None:
    """ensure_shopper for functions on the worker's event loop."""
    await _keys_fetched(req)
    ensure_shopper(req, user_id)


async def claim_order_async(req: func.HttpRequest, body: object) -> object:
    """claim_order for functions on the worker's event loop."""
    await _keys_fetched(req)
    return claim_order(req, body)


async def _keys_fetched(req: func.HttpRequest) -> None:
    """In `jwt` mode, the signing keys the request's token needs: a key fetch runs in a thread, never on the
    loop (on the local host the provider may be this very process)."""
    if _mode() == "jwt":
        tokens, token = bootstrap.shopper_tokens(), bearer_token(req)
        if not tokens.ready(token):
            await asyncio.get_running_loop().run_in_executor(None, tokens.prefetch, token)


def claim_order(req: func.HttpRequest, body: object) -> object:
    """An order placed with a verified identity belongs to that shopper: a missing userId is theirs, another is 403."""
    if _mode() == "key":
        if isinstance(body, dict) and isinstance(body.get("userId"), str):
            ensure_shopper(req, body["userId"])
        return body
    shopper = verified_shopper(req)
    if not isinstance(body, dict):
        return body   # the order validation answers 400
    if "userId" not in body:
        return {**body, "userId": shopper}
    if isinstance(body["userId"], str) and body["userId"] != shopper:
        raise ForbiddenError("a shopper may only place orders as themselves")
    return body
