"""Phone push and chat through Apprise: one URL per target (ntfy, Telegram, Pushover, Signal, Teams, Slack, …, about
a hundred services), the alert's line as the message and, where the service takes attachments, its snapshot (faces
hidden). Delivered means Apprise reports the service accepted it; anything else raises, and the outbox retries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskwatch.core.errors import UserError
from maskwatch.core.labels import DISPLAY
from maskwatch.core.records import Event
from maskwatch.sinks.base import SinkContext, one_line

if TYPE_CHECKING:
    from apprise import NotifyBase

    from maskwatch.config import AppriseConfig


def apprise_service(url: str) -> NotifyBase:
    """The Apprise plugin instance for `url`; a UserError naming only the URL's scheme (its tokens stay out of
    logs) when Apprise cannot use it."""
    import apprise

    service = apprise.Apprise.instantiate(url)
    if service is None:
        scheme = url.split("://", 1)[0] if "://" in url else url[:12]
        raise UserError(
            f"Apprise cannot use this {scheme}:// URL (unknown service, or a token or field in the wrong form); "
            "see https://github.com/caronc/apprise/wiki for each service's URL"
        )
    return service


def _title(message: dict) -> str:
    if message.get("type") == "camera_status":
        return f"maskwatch: camera {message['camera']} {'online' if message['online'] else 'offline'}"
    return f"maskwatch: {DISPLAY.get(message['label'], message['label'])} at {message['camera']}"


class AppriseSink:
    def __init__(
        self,
        url: str,
        name: str | None = None,
        index: int = 0,
        snapshot_file: Callable[[str | None], Path | None] | None = None,
        camera_status: bool = False,
        tz: tzinfo | None = None,
        cameras: Iterable[str] | None = None,
    ):
        import apprise

        self._apprise = apprise
        self.service = apprise_service(url)
        self.name = f"apprise:{name}" if name else f"apprise{index}"
        self.snapshot_file = snapshot_file  # None: no attachment
        self.camera_status = camera_status  # also told when a camera goes offline and comes back (camera_notices)
        self.tz = tz
        self.cameras = frozenset(cameras) if cameras else None  # only these cameras' events and notices; None: all
        self.attaches = bool(getattr(self.service, "attachment_support", False))  # the service takes files

    @classmethod
    def from_config(cls, a: AppriseConfig, context: SinkContext, index: int = 0) -> AppriseSink:
        return cls(
            a.url,
            a.name,
            index,
            context.snapshot_file if a.snapshots else None,
            a.camera_status,
            context.tz,
            a.cameras,
        )

    def send(self, event: Event) -> None:
        snapshot = self.snapshot_file(event.snapshot) if self.snapshot_file and self.attaches else None
        self._notify(event.payload(), snapshot)

    def post(self, notice: dict) -> None:
        self._notify(notice, None)

    def _notify(self, message: dict, attachment: Path | None) -> None:
        """Sends one notification; returns once the service accepted it, else raises with what Apprise said."""
        targets = self._apprise.Apprise()
        targets.add(self.service)
        attach = self._apprise.AppriseAttachment(str(attachment)) if attachment is not None else None
        result = targets.notify(body=one_line(message, self.tz), title=_title(message), attach=attach)
        if not result:
            raise RuntimeError(f"{self.name}: {_why(result)}")

    def close(self) -> None:
        pass


def _why(result: Any) -> str:
    """Apprise's last warning or error for a notification that was not delivered (Apprise 2 keeps them in its
    result); its messages name the host, never the URL's tokens."""
    said = [
        entry.message
        for service in (result if hasattr(result, "__iter__") else ())
        for entry in service.logs()
        if getattr(entry, "level", "") in ("WARNING", "ERROR", "CRITICAL")
    ]
    return said[-1] if said else "not delivered"
