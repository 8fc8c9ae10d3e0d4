"""E-mail: one message per alert over SMTP (STARTTLS, TLS or plain; with a login where the server wants one), the
alert's line as the subject, its fields in the body and, with `snapshots: true`, the snapshot (faces hidden)
attached. Delivered means the server accepted it for every recipient; anything else raises, and the outbox retries."""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable, Iterable
from datetime import tzinfo
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.core.records import Event
from maskwatch.sinks.base import SinkContext, one_line

if TYPE_CHECKING:
    from maskwatch.config import EmailConfig


class EmailSink:
    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        username: str | None,
        password: str | None,
        sender: str,
        to: list[str],
        timeout: float = 10.0,
        snapshot_file: Callable[[str | None], Path | None] | None = None,
        camera_status: bool = False,
        tz: tzinfo | None = None,
        name: str = "email",
        cameras: Iterable[str] | None = None,
        daily_summary: str | None = None,
    ):
        self.name = name
        self.cameras = frozenset(cameras) if cameras else None  # only these cameras' events, notices, figures
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.sender, self.to, self.timeout = sender, list(to), timeout
        self.snapshot_file = snapshot_file  # None: no attachment
        self.camera_status = camera_status  # also told when a camera goes offline and comes back (camera_notices)
        self.tz = tz
        self.daily_summary = daily_summary  # HH:MM in tz: each day then, the day before's figures; None: not

    @classmethod
    def from_config(cls, e: EmailConfig, context: SinkContext, index: int = 0) -> EmailSink:
        return cls(
            e.host,
            e.port,
            e.security,
            e.username,
            e.password,
            e.sender,
            e.to,
            e.timeout_seconds,
            context.snapshot_file if e.snapshots else None,
            e.camera_status,
            context.tz,
            name=f"email:{e.name}" if e.name else f"email{index}",
            cameras=e.cameras,
            daily_summary=e.daily_summary,
        )

    def send(self, event: Event) -> None:
        message = self._about(event.payload())
        snapshot = self.snapshot_file(event.snapshot) if self.snapshot_file else None
        if snapshot is not None:
            message.add_attachment(snapshot.read_bytes(), maintype="image", subtype="jpeg", filename=snapshot.name)
        self._deliver(message)

    def post(self, notice: dict) -> None:
        self._deliver(self._about(notice))

    def send_text(self, subject: str, body: str) -> None:
        self._deliver(self._message(subject, body))

    def _about(self, fields: dict) -> EmailMessage:
        """An alert or a notice: its line as the subject, then its fields as JSON."""
        line = one_line(fields, self.tz)
        return self._message(f"maskwatch: {line}", f"{line}\n\n{json.dumps(fields, indent=2, sort_keys=True)}")

    def _message(self, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self.sender, ", ".join(self.to)
        message["Date"], message["Message-ID"] = formatdate(localtime=True), make_msgid(domain="maskwatch")
        message.set_content(body)
        return message

    def _deliver(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as err:
            raise RuntimeError(f"SMTP {self.host}:{self.port}: {err}") from None
        if refused:
            raise RuntimeError(f"SMTP {self.host}:{self.port} refused {', '.join(refused)}")

    def close(self) -> None:
        pass
