"""`ui:` the web UI and API: where it listens, the tokens that open it, HTTPS."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator

from maskwatch.config.base import Strict

MIN_TOKEN_LENGTH = 12
MIN_TOKEN_DISTINCT_CHARACTERS = 6


def check_token(token: str | None) -> str | None:
    """A token someone could not guess in a few tries: long enough, no whitespace, not one character repeated."""
    if token is None:
        return None
    if any(c.isspace() or not c.isprintable() for c in token):
        raise ValueError("a token may not hold spaces or control characters (it travels in headers and URLs)")
    if len(set(token)) < MIN_TOKEN_DISTINCT_CHARACTERS:
        raise ValueError(
            f"a token needs at least {MIN_TOKEN_DISTINCT_CHARACTERS} different characters (make one with "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
        )
    return token


class UIConfig(Strict):
    """The web UI and its API, served by this process. Every route needs the token (or the viewer token, which may
    only look)."""

    enabled: bool = Field(True, description="serve the web UI and API; false: alerts go only to the sinks")
    host: str = Field(
        "127.0.0.1",
        description="address to listen on: 127.0.0.1 is this machine only; 0.0.0.0 (or ::) every network, which "
        "without tls_cert logs a warning at start (put a TLS reverse proxy in front, or set tls_cert)",
    )
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on; 0: any free port")
    token: str | None = Field(
        None,
        min_length=MIN_TOKEN_LENGTH,
        description=f"access token: {MIN_TOKEN_LENGTH} characters or more, at least {MIN_TOKEN_DISTINCT_CHARACTERS} "
        "of them different, no spaces; unset: a new one is generated and printed at each start",
    )
    viewer_token: str | None = Field(
        None,
        min_length=MIN_TOKEN_LENGTH,
        description="a second token that may only look (live view, events, figures, metrics), e.g. for a screen in "
        "a hallway: changes made with it are refused (403); the same rules as token, and it must differ from it; "
        "unset: none",
    )
    wrong_tokens_per_minute: int = Field(
        10,
        ge=0,
        description="an address that sends this many wrong tokens (header, ?token= or login form) within a minute is "
        "refused, right token included, for the rest of that minute (429 with Retry-After); 0: never",
    )
    tls_cert: Path | None = Field(
        None,
        description="PEM certificate (chain): the UI and API are served over HTTPS only, and the login cookie is "
        "marked Secure; a missing file or a key that does not match is a one-line error at start",
    )
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert; set both or neither")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies (e.g. [127.0.0.1], 10.0.0.0/8) whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed, for the wrong-token limit, the log and the cookie's Secure flag; "
        "empty: nobody's (each connection's own address counts)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        for entry in proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return proxies

    @field_validator("token", "viewer_token")
    @classmethod
    def _guessable(cls, token: str | None) -> str | None:
        return check_token(token)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both tls_cert and tls_key, or neither")
        if self.viewer_token and self.viewer_token == self.token:
            raise ValueError("viewer_token must differ from token")
        return self

    def exposure_warning(self) -> str | None:
        """What to tell the operator when the UI is reachable from other machines over plain HTTP, or None."""
        if self.tls_cert is not None or _is_loopback(self.host):
            return None
        return (
            f"ui.host {self.host or '(all addresses)'} is reachable from other machines and ui.tls_cert is not set: "
            "the token and the video cross the network unencrypted (put a TLS reverse proxy in front, or set "
            "ui.tls_cert and ui.tls_key)"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False
