"""Access-token check for every route but /healthz and /login, as plain ASGI middleware (covers streams and /docs).

A request is let in with `Authorization: Bearer <token>`, the login cookie, or `?token=<token>`. On an HTML page
`?token=` sets the cookie and redirects to the same address without the token, so it does not stay in the
address bar or the history. The cookie holds an HMAC of the token, not the token itself: changing the token
logs everybody out.

Two roles: the admin token may do everything; the viewer token (ui.viewer_token, for a screen in a hallway) only
reads: any other method than GET/HEAD is refused with 403 here, for every route present and future. The role is
left in the ASGI scope's state for the routes to read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode

log = logging.getLogger(__name__)

COOKIE = "maskwatch_session"
READ_METHODS = frozenset({"GET", "HEAD"})
OPEN_PATHS = frozenset({"/healthz", "/login", "/favicon.ico"})
API_PREFIXES = ("/api/", "/metrics", "/openapi.json")


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"maskwatch-session-v1", hashlib.sha256).hexdigest()


def token_matches(candidate: str | None, token: str) -> bool:
    return bool(candidate) and hmac.compare_digest(candidate.encode(), token.encode())


def session_cookie(token: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={session_value(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{flags}"


def clear_cookie() -> str:
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"


def safe_next(path: str | None) -> str:
    """Only a path on this site: never `//host` or a full URL (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def cookie_value(header: str, name: str) -> str | None:
    """Lenient on purpose: cookies of other apps on the same host (localhost shares them across ports) may not be
    RFC-clean, and http.cookies stops at the first one it cannot parse."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def role_of(candidate: str | None, tokens: dict[str, str | None]) -> str | None:
    """The role ('admin', 'viewer') whose token `candidate` is, or None."""
    return next((role for role, token in tokens.items() if token and token_matches(candidate, token)), None)


class WrongTokens:
    """Wrong tokens per client address. After `limit` of them within a minute, that address is refused (429) for
    the rest of the minute, whatever it sends, so that a token cannot be guessed at the speed of the network. Login
    cookies do not count: one left over from a changed token is no guess, and the page sends it with every poll.
    Behind a reverse proxy every client has the proxy's address, so a guesser there locks everyone out for a minute."""

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


def client_address(scope) -> str:
    return (scope.get("client") or ("unknown",))[0]


def too_many_body(wait: int) -> bytes:
    return json.dumps({"detail": f"too many wrong access tokens from this address: try again in {wait} s"}).encode()


class TokenAuth:
    """ASGI middleware; `get_tokens` ({role: token or None}) is read on each request so that a change applies at once."""

    def __init__(self, app, get_tokens: Callable[[], dict[str, str | None]], wrong: WrongTokens):
        self.app = app
        self.get_tokens = get_tokens
        self.wrong = wrong

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            send = _with_security_headers(send, scope["path"])
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        tokens = self.get_tokens()
        headers = _headers(scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        bearer = headers.get("authorization", "")
        bearer = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        client = client_address(scope)
        if wait := self.wrong.wait_seconds(client):
            await self._refuse(scope, send, wait)
            return
        session = cookie_value(headers.get("cookie", ""), COOKIE)
        sessions = {role: session_value(token) if token else None for role, token in tokens.items()}

        if role := role_of(bearer, tokens) or role_of(session, sessions):
            await self._let_in(role, scope, receive, send)
            return
        if role := role_of(query.get("token"), tokens):
            if scope["type"] == "http" and scope["method"] == "GET" and not self._is_api(scope["path"]):
                rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
                target = scope["path"] + (f"?{rest}" if rest else "")
                cookie = self._cookie(scope, tokens[role])
                await self._respond(send, 303, [("location", target), ("set-cookie", cookie)], b"")
                return
            await self._let_in(role, scope, receive, send)
            return
        if bearer is not None or "token" in query:
            self.wrong.failed(client)
        await self._reject(scope, send, headers)

    async def _refuse(self, scope, send, wait: int) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self._respond(
            send, 429, [("content-type", "application/json"), ("retry-after", str(wait))], too_many_body(wait)
        )

    async def _let_in(self, role: str, scope, receive, send) -> None:
        if (
            role != "admin"
            and scope["type"] == "http"
            and scope["method"] not in READ_METHODS
            and scope["path"] != "/logout"
        ):
            body = json.dumps({"detail": "read-only access: the viewer token cannot change anything"}).encode()
            await self._respond(send, 403, [("content-type", "application/json")], body)
            return
        scope.setdefault("state", {})["role"] = role
        await self.app(scope, receive, send)

    @staticmethod
    def _is_api(path: str) -> bool:
        return path.startswith(API_PREFIXES) or path == "/api"

    @staticmethod
    def _cookie(scope, token: str) -> str:
        return session_cookie(token, secure=scope.get("scheme") in ("https", "wss"))

    async def _reject(self, scope, send, headers: dict[str, str]) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        wants_html = "text/html" in headers.get("accept", "")
        if scope["method"] == "GET" and wants_html and not self._is_api(scope["path"]):
            qs = scope.get("query_string", b"").decode("latin-1")
            here = scope["path"] + (f"?{qs}" if qs and "token=" not in qs else "")
            failed = "&error=1" if "token=" in qs else ""
            await self._respond(send, 303, [("location", f"/login?next={quote(here, safe='')}{failed}")], b"")
            return
        body = json.dumps({"detail": "missing or wrong access token"}).encode()
        await self._respond(send, 401, [("content-type", "application/json"), ("www-authenticate", "Bearer")], body)

    @staticmethod
    async def _respond(send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw += [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# the page and the login form use only their own files; /docs (Swagger UI's page has an inline script) is left without it
PAGE_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _with_security_headers(send, path: str):
    extra = SECURITY_HEADERS + ([(b"content-security-policy", PAGE_CSP)] if path in ("/", "/login") else [])

    async def wrapped(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped
