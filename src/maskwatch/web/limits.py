"""Request body limits, as plain ASGI middleware in front of everything else (the login form included): a body over
its route's limit is answered 413 before it is read, from its Content-Length, or as soon as the bytes streamed in
pass the limit."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maskwatch.web.auth import json_body

LOGIN_BODY_MAX = 4 * 1024  # a token and the page to go back to
ZONES_BODY_MAX = 512 * 1024  # a camera's zones at their caps (50 zones of 64 corners) take about 150 kB
OTHER_BODY_MAX = 4 * 1024  # a review; the rest of the API takes no body
LIMITS = [
    (re.compile(r"^/login$"), LOGIN_BODY_MAX),
    (re.compile(r"^/api/cameras/[^/]+/zones$"), ZONES_BODY_MAX),
]


def body_limit(path: str) -> int:
    return next((limit for pattern, limit in LIMITS if pattern.match(path)), OTHER_BODY_MAX)


class TooLarge(HTTPException):
    """Raised from the body's receive: FastAPI passes an HTTPException met while reading a body on (any other
    error there would become a 400) and answers it."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    return f"the request body is too large: {limit} bytes at most here"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_of: Callable[[str], int] = body_limit):
        self.app, self.limit_of = app, limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except TooLarge:
            if started:  # nothing more can be said: the connection ends
                raise
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else 2**63
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json_body(too_large_detail(limit))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
