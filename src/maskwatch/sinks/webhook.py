"""Webhooks: POST the event as JSON; with a secret, X-Maskwatch-Signature: sha256=<hex HMAC-SHA256 of the body>;
optionally with the snapshot (faces hidden) in the body as base64 JPEG, `snapshot_jpeg`, and camera outage notices
(`"type": "camera_status"`, sinks.camera_notices). With `format: text` the body is `{"text": "<one line>"}` instead,
which chat tools' incoming webhooks (Slack, Mattermost, Google Chat, Teams, Rocket.Chat) post as a message."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.core.records import Event
from maskwatch.sinks.base import SinkContext, encode, one_line

if TYPE_CHECKING:
    from maskwatch.config import WebhookConfig

SIGNATURE_HEADER = "X-Maskwatch-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(body, secret), header)


class WebhookSink:
    def __init__(
        self,
        url: str,
        secret: str | None = None,
        timeout: float = 5.0,
        name: str | None = None,
        index: int = 0,
        snapshot_file: Callable[[str | None], Path | None] | None = None,
        camera_status: bool = False,
        text: bool = False,
        tz: tzinfo | None = None,
        cameras: Iterable[str] | None = None,
    ):
        self.url, self.secret, self.timeout = url, secret, timeout
        self.name = f"webhook:{name}" if name else f"webhook{index}"
        self.snapshot_file = snapshot_file  # None: the body carries the snapshot's name only
        self.camera_status = camera_status  # also told when a camera goes offline and comes back (camera_notices)
        self.text, self.tz = text, tz  # text: {"text": "<one line>"} with times in tz (None: the machine's)
        self.cameras = frozenset(cameras) if cameras else None  # only these cameras' events and notices; None: all

    @classmethod
    def from_config(cls, w: WebhookConfig, context: SinkContext, index: int = 0) -> WebhookSink:
        return cls(
            w.url,
            w.secret,
            w.timeout_seconds,
            w.name,
            index,
            context.snapshot_file if w.snapshots else None,
            w.camera_status,
            text=w.format == "text",
            tz=context.tz,
            cameras=w.cameras,
        )

    def send(self, event: Event) -> None:
        body = event.payload()
        snapshot = self.snapshot_file(event.snapshot) if self.snapshot_file else None
        if snapshot is not None:
            body["snapshot_jpeg"] = base64.b64encode(snapshot.read_bytes()).decode()
        self.post(body)

    def post(self, message: dict) -> None:
        """POSTs the message as signed JSON; returns once the receiver answered 2xx, else raises."""
        if self.text:
            body = json.dumps({"text": one_line(message, self.tz)}, ensure_ascii=False).encode()
        else:
            body = encode(message)
        headers = {"Content-Type": "application/json", "User-Agent": "maskwatch"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise RuntimeError(f"HTTP {response.status}")
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"HTTP {err.code} from {self.url}") from None
        except (urllib.error.URLError, OSError) as err:
            raise RuntimeError(f"{self.url}: {getattr(err, 'reason', err)}") from None

    def close(self) -> None:
        pass
