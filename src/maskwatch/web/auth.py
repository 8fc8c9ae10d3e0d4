"""Access-token check for every route but /healthz, /login and /logout, as plain ASGI middleware (covers streams,
static files and /docs).

A request is let in with `Authorization: Bearer <token>`, the login session's cookie, or `?token=<token>`. On an
HTML page `?token=` opens a session and redirects to the same (local) address without the token, so it does not
stay in the address bar or the history. Sessions: see `maskwatch.web.sessions`.

Two roles: the admin token may do everything; the viewer token (ui.viewer_token, for a screen in a hallway) only
reads. The role is left in the ASGI scope's state; the routes that change something require the admin role
(`maskwatch.web.deps.require_admin`).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maskwatch.web.sessions import LIFETIME_SECONDS, SessionStore

log = logging.getLogger(__name__)

COOKIE = "maskwatch_session"
OPEN_PATHS = frozenset({"/healthz", "/login", "/logout", "/favicon.ico"})
API_PREFIXES = ("/api/", "/metrics", "/openapi.json")
URL_SAFE = "/%:@!$&'()*+,;=-._~"  # left as they are in a path; anything else (a backslash, a tab) is %-encoded


def token_matches(candidate: str | None, token: str) -> bool:
    return candidate is not None and bool(candidate) and hmac.compare_digest(candidate.encode(), token.encode())


def role_of(candidate: str | None, tokens: dict[str, str | None]) -> str | None:
    """The role ('admin', 'viewer') whose token `candidate` is, or None."""
    return next((role for role, token in tokens.items() if token and token_matches(candidate, token)), None)


def session_cookie(session_id: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECONDS}{flags}"


def clear_cookie() -> str:
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"


def safe_next(path: str | None) -> str:
    """Only a path on this site: never `//host`, a full URL, or characters browsers drop (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in path):
        return "/"
    return path


def local_path(scope: Scope) -> str:
    """The request's path as a redirect target that stays on this site (`//evil.example/x` → `/evil.example/x`)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    return "/" + quote(raw.decode("latin-1"), safe=URL_SAFE).lstrip("/")


def cookie_value(header: str, name: str) -> str | None:
    """Lenient on purpose: cookies of other apps on the same host (localhost shares them across ports) may not be
    RFC-clean, and http.cookies stops at the first one it cannot parse."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def client_address(scope: Scope) -> str:
    """The client's address: the connection's, or the one a trusted proxy (ui.trusted_proxies) forwarded."""
    return (scope.get("client") or ("unknown",))[0]


class WrongTokens:
    """Wrong tokens (and session cookies the server did not hand out) per client address. After `limit` of them
    within a minute, that address is refused (429) for the rest of the minute, whatever it sends, so that a token
    cannot be guessed at the speed of the network. Behind a reverse proxy that is not in ui.trusted_proxies every
    client has the proxy's address, so a guesser there locks everyone out for a minute."""

    WINDOW = 60.0

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic):
        self.limit, self.clock = limit, clock
        self._times: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, client: str) -> int:
        """Seconds until `client` may try again; 0: it may now."""
        if not self.limit:
            return 0
        with self._lock:
            times = self._recent(client)
            return math.ceil(times[0] + self.WINDOW - self.clock()) if len(times) >= self.limit else 0

    def failed(self, client: str) -> None:
        if not self.limit:
            return
        with self._lock:
            times = self._recent(client)
            times.append(self.clock())
            if len(times) == self.limit:
                log.warning(
                    "%d wrong access tokens from %s within a minute: refusing it for a minute", self.limit, client
                )
            if len(self._times) > 10000:  # addresses seen once and long gone
                self._times = {c: ts for c, ts in self._times.items() if ts and ts[-1] > self.clock() - self.WINDOW}

    def _recent(self, client: str) -> deque:
        times = self._times.setdefault(client, deque())
        while times and times[0] <= self.clock() - self.WINDOW:
            times.popleft()
        return times


@dataclass
class Credentials:
    bearer: str | None
    session: str | None
    query_token: str | None


def credentials(headers: dict[str, str], query: dict[str, str]) -> Credentials:
    bearer = headers.get("authorization", "")
    return Credentials(
        bearer=bearer[7:].strip() if bearer[:7].lower() == "bearer " else None,
        session=cookie_value(headers.get("cookie", ""), COOKIE) or None,
        query_token=query.get("token"),
    )


def json_body(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


class TokenAuth:
    """ASGI middleware; `get_tokens` ({role: token or None}) is read on each request so that a change applies at
    once."""

    def __init__(
        self, app: ASGIApp, get_tokens: Callable[[], dict[str, str | None]], wrong: WrongTokens, sessions: SessionStore
    ):
        self.app, self.get_tokens, self.wrong, self.sessions = app, get_tokens, wrong, sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = _with_security_headers(send, scope["path"])
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        if wait := self.wrong.wait_seconds(client):
            await self._refuse(scope, send, wait)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        given, tokens = credentials(headers, query), self.get_tokens()
        role, guesses = self._authenticate(given, tokens, client)
        if role is None:
            for _ in range(guesses):
                self.wrong.failed(client)
            await self._reject(scope, send, headers, stale_cookie=given.session is not None)
        elif (query_role := role_of(given.query_token, tokens)) and self._is_page(scope):
            # a screen reloading a bookmarked ?token= link keeps its session instead of opening one each time
            same = given.session and self.sessions.check(given.session, tokens, client).role == query_role
            session_id = None if same else self.sessions.open(query_role, tokens[query_role] or "")
            await self._drop_token(scope, send, query, session_id)
        else:
            scope.setdefault("state", {})["role"] = role
            await self.app(scope, receive, send)

    def _authenticate(self, given: Credentials, tokens: dict[str, str | None], client: str) -> tuple[str | None, int]:
        """(the role of the first valid credential, or None; how many wrong ones count as guesses)."""
        guesses = 0
        for candidate in (given.bearer, given.query_token):
            if candidate is not None:
                if role := role_of(candidate, tokens):
                    return role, 0
                guesses += 1
        if given.session is not None:
            verdict = self.sessions.check(given.session, tokens, client)
            if verdict.role:
                return verdict.role, 0
            guesses += verdict.guess
        return None, guesses

    def _is_page(self, scope: Scope) -> bool:
        return scope["type"] == "http" and scope["method"] == "GET" and not self._is_api(scope["path"])

    async def _drop_token(self, scope: Scope, send: Send, query: dict[str, str], session_id: str | None) -> None:
        """To the same local address without the token, with the new session's cookie where one was opened."""
        rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
        headers = [("location", local_path(scope) + (f"?{rest}" if rest else ""))]
        if session_id:
            headers.append(("set-cookie", session_cookie(session_id, secure=scope.get("scheme") in ("https", "wss"))))
        await _respond(send, 303, headers, b"")

    async def _refuse(self, scope: Scope, send: Send, wait: int) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json_body(f"too many wrong access tokens from this address: try again in {wait} s")
        await _respond(send, 429, [("content-type", "application/json"), ("retry-after", str(wait))], body)

    @staticmethod
    def _is_api(path: str) -> bool:
        return path.startswith(API_PREFIXES) or path == "/api"

    async def _reject(self, scope: Scope, send: Send, headers: dict[str, str], stale_cookie: bool) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        forget = [("set-cookie", clear_cookie())] if stale_cookie else []
        wants_html = "text/html" in headers.get("accept", "")
        if scope["method"] == "GET" and wants_html and not self._is_api(scope["path"]):
            qs = scope.get("query_string", b"").decode("latin-1")
            here = local_path(scope) + (f"?{qs}" if qs and "token=" not in qs else "")
            failed = "&error=1" if "token=" in qs else ""
            await _respond(send, 303, [("location", f"/login?next={quote(here, safe='')}{failed}"), *forget], b"")
            return
        headers_out = [("content-type", "application/json"), ("www-authenticate", "Bearer"), *forget]
        await _respond(send, 401, headers_out, json_body("missing or wrong access token"))


async def _respond(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# the page and the login form use only their own files; /docs (Swagger UI's page has an inline script) is left
# without it
PAGE_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _with_security_headers(send: Send, path: str) -> Send:
    extra = SECURITY_HEADERS + ([(b"content-security-policy", PAGE_CSP)] if path in ("/", "/login", "/cases") else [])

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped
