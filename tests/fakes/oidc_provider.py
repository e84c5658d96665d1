"""A stand-in OpenID Connect provider for tests: RSA (and EC) keys the test generates, a JWKS served by a real
local HTTP server, and tokens signed with those keys. It counts JWKS fetches, can rotate keys and go down."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://login.test.example/tenant/v2.0"
AUDIENCE = "api://personalization-test"


class OidcProvider:
    def __init__(self):
        self.keys: dict[str, object] = {}
        self.published: list[str] = []
        self.fetches = 0
        self.down = False
        self.add_key("key-1")
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                provider.fetches += 1
                if provider.down or self.path != "/jwks.json":
                    self.send_response(503 if provider.down else 404)
                    self.end_headers()
                    return
                body = json.dumps(provider.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def add_key(self, kid: str, kind: str = "RSA", publish: bool = True) -> None:
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RSA"
                          else ec.generate_private_key(ec.SECP256R1()))
        if publish:
            self.published.append(kid)

    def rotate(self, kid: str) -> None:
        """A new key replaces every published one, as a provider's rollover does."""
        self.add_key(kid, publish=False)
        self.published = [kid]

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            public = self.keys[kid].public_key()
            algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
            keys.append({**json.loads(algorithm.to_jwk(public)), "kid": kid, "use": "sig"})
        return {"keys": keys}

    def token(self, user: str = "shopper-1", kid: str = "key-1", algorithm: str | None = None,
              header_kid: str | None = None, **overrides) -> str:
        """Signed with key `kid`; `header_kid` names another kid in the header (a key the JWKS does not have)."""
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user, "iat": now, "nbf": now, "exp": now + 600}
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        key = self.keys[kid]
        algorithm = algorithm or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": header_kid or kid})

    def settings_env(self) -> dict:
        return {"SHOPPER_AUTH": "jwt", "SHOPPER_JWKS_URL": self.url, "SHOPPER_JWT_ISSUER": ISSUER,
                "SHOPPER_JWT_AUDIENCE": AUDIENCE}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
