"""Console sessions without server-side state: a signed cookie naming the API token the admin signed in with.

The cookie holds ``<token id>.<issued at>.<nonce>.<HMAC-SHA256>``, signed with the web secret, so any
process sharing the secret (and the database) accepts it: several ``phonesys web`` processes behind a
load balancer need no shared session store. Every request looks the token up again by its id, so a
revoked token ends all of its sessions at once. The CSRF token of a session is an HMAC of the cookie's
value under the same secret: a page of this console can put it in its forms, another site cannot
compute it. Before sign-in, a short-lived nonce cookie gives the sign-in form its own CSRF token.

The secret is ``PHONESYS_WEB_SECRET`` (at least ``WEB_SECRET_MIN`` characters; set the same value on
every host), else a random one created once in ``$PHONESYS_HOME/web_secret`` (mode 0600), which the
processes of one host share.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from phonesys.rules.limits import CONSOLE_SESSION_SECONDS, WEB_SECRET_MIN
from phonesys.settings import Settings

SESSION_COOKIE = "phonesys_session"
SIGN_IN_COOKIE = "phonesys_sign_in"
COOKIE_PATH = "/console"
SECRET_FILE = "web_secret"


def web_secret(settings: Settings) -> bytes:
    """The configured secret, or this home's own one (created by the first process that needs it)."""
    if settings.web_secret is not None:
        if len(settings.web_secret) < WEB_SECRET_MIN:
            raise ValueError(f"PHONESYS_WEB_SECRET: expected at least {WEB_SECRET_MIN} characters")
        return settings.web_secret.encode()
    path = settings.ensure_home() / SECRET_FILE
    if not path.exists():
        _create_secret(path)
    return path.read_bytes().strip()


def _create_secret(path: Path) -> None:
    """Write a new secret under a temporary name, then link it into place: the link fails if another
    process won the race, and nobody ever reads a half-written file."""
    temporary = path.with_name(f"{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


@dataclass(frozen=True)
class Signer:
    """Signs and checks the console's cookie values and CSRF tokens with one secret."""

    secret: bytes

    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def new_session(self, token_id: int, issued: float | None = None) -> str:
        """A cookie value naming the token; the nonce makes each sign-in's value (and CSRF token) its own."""
        value = f"{token_id}.{int(time.time() if issued is None else issued)}.{secrets.token_urlsafe(12)}"
        return f"{value}.{self._mac('session', value)}"

    def session_token_id(self, cookie: str | None) -> int | None:
        """The token id a cookie names, if its signature is ours and it is not older than a session lasts."""
        value, _, mac = (cookie or "").rpartition(".")
        if not value or not hmac.compare_digest(mac, self._mac("session", value)):
            return None
        token_id, issued, _nonce = value.split(".")
        if time.time() - int(issued) > CONSOLE_SESSION_SECONDS:
            return None
        return int(token_id)

    def csrf(self, cookie: str) -> str:
        """The CSRF token of a cookie value: computable only with the secret, so only our pages carry it."""
        return self._mac("csrf", cookie)

    def csrf_matches(self, cookie: str | None, sent: str | None) -> bool:
        return bool(cookie) and bool(sent) and hmac.compare_digest(self.csrf(str(cookie)), str(sent))


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
