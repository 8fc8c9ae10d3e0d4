"""Login sessions: random ids kept on the server, with an expiry, ended by logout and by a change of the token.

The cookie holds only a random id (256 bits), nothing derived from the token, so a leaked cookie gives no way to
guess the token offline, and a cookie value the server did not hand out is a guess like a wrong token. The server
keeps, per session, the role, the expiry and an HMAC of the token it was opened with (keyed by the session id): when
that token changes, the session ends. Sessions are saved to a small JSON file (ids stored hashed) so that a restart
does not sign out a screen on the wall.

An ended session (logged out, expired, or its token changed) is remembered until it would have expired: a browser
still sending it is not guessing, and is forgiven for a short while per client address; after that it counts as a
wrong token, so that an old cookie cannot be replayed for ever.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LIFETIME_SECONDS = 30 * 24 * 3600
FORGIVE_SECONDS = 10.0  # the page's requests already under way when its session ended
MAX_SESSIONS = 1000  # logins kept; the oldest goes first


@dataclass
class Session:
    role: str
    token_mac: str
    expires: float


@dataclass
class Ended:
    expires: float
    forgiven: dict[str, float] = field(default_factory=dict)  # client address -> first time it sent this session


@dataclass(frozen=True)
class Verdict:
    role: str | None  # signed in as this role; None: not
    guess: bool  # counts toward the wrong-token limit


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def _token_mac(session_id: str, token: str) -> str:
    return hmac.new(session_id.encode(), token.encode(), hashlib.sha256).hexdigest()


class SessionStore:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time, lifetime: float = LIFETIME_SECONDS):
        self.path, self.clock, self.lifetime = path, clock, lifetime
        self._lock = threading.Lock()
        self._open: dict[str, Session] = {}
        self._ended: dict[str, Ended] = {}
        self._load()

    def open(self, role: str, token: str) -> str:
        """A new session for `role`, signed in with `token`; returns its id, for the cookie."""
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            while len(self._open) >= MAX_SESSIONS:
                oldest = min(self._open, key=lambda k: self._open[k].expires)
                self._end(oldest)
            self._open[_key(session_id)] = Session(role, _token_mac(session_id, token), self.clock() + self.lifetime)
            self._save()
        return session_id

    def close(self, session_id: str | None) -> None:
        """Logout."""
        if session_id:
            with self._lock:
                if _key(session_id) in self._open:
                    self._end(_key(session_id))
                    self._save()

    def check(self, session_id: str, tokens: dict[str, str | None], client: str) -> Verdict:
        """`tokens`: the current {role: token}."""
        key, now = _key(session_id), self.clock()
        with self._lock:
            session = self._open.get(key)
            if session is not None:
                token = tokens.get(session.role)
                if (
                    session.expires > now
                    and token
                    and hmac.compare_digest(session.token_mac, _token_mac(session_id, token))
                ):
                    return Verdict(session.role, guess=False)
                self._end(key)  # expired, or its token changed
                self._save()
            ended = self._ended.get(key)
            if ended is None:
                return Verdict(None, guess=True)
            if client not in ended.forgiven and len(ended.forgiven) >= 100:
                return Verdict(None, guess=True)
            first = ended.forgiven.setdefault(client, now)
            return Verdict(None, guess=now - first > FORGIVE_SECONDS)

    def _end(self, key: str) -> None:
        session = self._open.pop(key)
        self._ended[key] = Ended(session.expires)
        if len(self._ended) > 10 * MAX_SESSIONS:
            del self._ended[min(self._ended, key=lambda k: self._ended[k].expires)]

    def _forget_expired(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._open.items() if s.expires <= now]:
            self._end(key)
        self._ended = {k: e for k, e in self._ended.items() if e.expires > now}

    def _load(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            self._open = {k: Session(**v) for k, v in saved["open"].items()}
            self._ended = {k: Ended(float(v)) for k, v in saved["ended"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
            log.warning("login sessions in %s not read (%s): everybody signs in again", self.path, err)
            self._open, self._ended = {}, {}

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "open": {k: asdict(s) for k, s in self._open.items()},
            "ended": {k: e.expires for k, e in self._ended.items()},
        }
        part = self.path.with_name(self.path.name + ".part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(part, self.path)
        except OSError as err:
            log.warning("login sessions not saved to %s (%s): a restart signs everybody out", self.path, err)
