"""`sinks:` where alerts and camera notices go: the log, MQTT, webhooks, e-mail and Apprise push, retried until
delivered."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from maskwatch.config.base import Name, Strict

Address = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class MqttConfig(Strict):
    """An MQTT broker: events on <topic_prefix>/<camera>/event, camera status on <topic_prefix>/<camera>/status,
    the service's availability on <topic_prefix>/service/status."""

    host: str = Field(description="the broker's host name or address")
    port: int = Field(1883, ge=1, le=65535, description="the broker's port (8883 is the usual one with TLS)")
    username: str | None = Field(None, description="user name on the broker; unset: connect anonymously")
    password: str | None = Field(None, description="password of username; write ${VARIABLE} to keep it out of the file")
    topic_prefix: str = Field("maskwatch", description="first level of every topic this service publishes")
    qos: Literal[0, 1, 2] = Field(1, description="MQTT quality of service of events (0, 1 or 2)")
    client_id: str | None = Field(None, description="MQTT client id; unset: the broker assigns one")
    tls: bool = Field(False, description="connect over TLS, checking the broker's certificate against the system CAs")
    home_assistant: bool = Field(False, description="publish Home Assistant MQTT discovery for each camera")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's discovery topic prefix")
    snapshots: bool = Field(
        False,
        description="publish each alert's snapshot (faces hidden) as a retained JPEG on <prefix>/<camera>/snapshot",
    )


class WebhookConfig(Strict):
    """An HTTP(S) endpoint that each alert is POSTed to as JSON (a VMS, Node-RED, a chat tool)."""

    url: str = Field(pattern=r"^https?://", description="the http:// or https:// URL to POST to")
    secret: str | None = Field(
        None,
        description="signs each body: header X-Maskwatch-Signature: sha256=<HMAC-SHA256 of the body with this "
        "secret>; unset: unsigned",
    )
    timeout_seconds: float = Field(5.0, gt=0, description="seconds to wait for the endpoint's answer")
    name: Name | None = Field(
        None,
        description="names this webhook in the delivery record and the log, so that reordering the list keeps "
        "what was delivered; unset: its place in the list",
    )
    snapshots: bool = Field(
        False, description="add the alert's snapshot (faces hidden) to the body as base64 JPEG, snapshot_jpeg"
    )
    camera_status: bool = Field(
        False,
        description='also POST {"type": "camera_status", ...} when a camera has been offline for '
        "sinks.camera_offline_seconds, and when it is back",
    )
    format: Literal["json", "text"] = Field(
        "json",
        description='json: the event; text: {"text": "<one line>"}, the body chat tools\' incoming webhooks '
        "(Slack, Mattermost, Teams, Google Chat) take",
    )
    cameras: list[Name] | None = Field(
        None, min_length=1, description="only these cameras' alerts and notices; unset: all"
    )

    @model_validator(mode="after")
    def _snapshots_need_json(self) -> Self:
        if self.snapshots and self.format == "text":
            raise ValueError("snapshots go in JSON bodies only: set format: json, or snapshots: false")
        return self


class EmailConfig(Strict):
    """An SMTP server and the addresses alerts (and, if asked, camera notices and a daily summary) are mailed to."""

    name: Name | None = Field(
        None,
        description="names this mail route in the delivery record and the log; unset: its place in the list",
    )
    host: str = Field(description="the SMTP server's host name or address")
    port: int = Field(587, ge=1, le=65535, description="the SMTP server's port")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (port 465) or none (a relay on this network)"
    )
    username: str | None = Field(None, description="SMTP login; unset: no login")
    password: str | None = Field(None, description="password of username; write ${VARIABLE} to keep it out of the file")
    sender: Address = Field(description="the From address")
    to: list[Address] = Field(min_length=1, description="the recipients, one or more addresses")
    timeout_seconds: float = Field(10.0, gt=0, description="seconds to wait for the SMTP server")
    snapshots: bool = Field(False, description="attach the alert's snapshot (faces hidden)")
    camera_status: bool = Field(
        False,
        description="also mail when a camera has been offline for sinks.camera_offline_seconds, and when it is back",
    )
    daily_summary: str | None = Field(
        None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM in rules.timezone: each day then, a mail with the day before's people counts per "
        "camera and zone and its alerts; unset: no summary",
    )
    cameras: list[Name] | None = Field(
        None, min_length=1, description="only these cameras' alerts, notices and figures; unset: all"
    )


class AppriseConfig(Strict):
    """A phone push or chat target through Apprise (ntfy, Telegram, Pushover, Signal, Teams, Slack, ...)."""

    url: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://",
        description="the target as an Apprise URL, e.g. ntfy://ntfy.sh/ward-3 or tgram://<bot token>/<chat id>; "
        "write ${VARIABLE} for its tokens to keep them out of the file",
    )
    name: Name | None = Field(
        None,
        description="names this target in the delivery record and the log, so that reordering the list keeps "
        "what was delivered; unset: its place in the list (apprise0, apprise1, ...)",
    )
    snapshots: bool = Field(
        True, description="attach the alert's snapshot (faces hidden) where the service takes attachments"
    )
    camera_status: bool = Field(
        False,
        description="also notify when a camera has been offline for sinks.camera_offline_seconds, and when it is back",
    )
    cameras: list[Name] | None = Field(
        None, min_length=1, description="only these cameras' alerts and notices; unset: all"
    )

    @field_validator("url")
    @classmethod
    def _apprise_knows_it(cls, url: str) -> str:
        try:
            import apprise
        except ImportError:  # without the serve extra the URL is checked when the service starts
            return url
        if apprise.Apprise.instantiate(url) is None:
            raise ValueError(
                f"Apprise cannot use this {url.split('://', 1)[0]}:// URL (an unknown service, or a token in the "
                "wrong form); see the Apprise wiki for each service's URL"
            )
        return url


class SinksConfig(Strict):
    """Every alert is written to the event database first, then delivered to each sink, retried until it is."""

    log: bool = Field(True, description="write each alert as one line to the service's log")
    camera_offline_seconds: float = Field(
        10.0,
        ge=0,
        description="seconds a camera is offline before sinks with camera_status are told",
    )
    mqtt: MqttConfig | None = Field(None, description="an MQTT broker to publish to; unset: none")
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="HTTP endpoints to POST alerts to")
    email: list[EmailConfig] = Field(
        default_factory=list, description="one mapping, or a list of them (say one per ward, each with its cameras)"
    )
    apprise: list[AppriseConfig] = Field(
        default_factory=list,
        description="phone push and chat through Apprise (about a hundred services): one mapping, or a list of them",
    )
    retry_seconds: float = Field(
        30.0, gt=0, description="seconds: longest wait between retries of an undelivered event"
    )

    @field_validator("email", "apprise", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else [] if value is None else value

    @model_validator(mode="after")
    def _names_once(self) -> Self:
        for kind, entries in (("webhooks", self.webhooks), ("email", self.email), ("apprise", self.apprise)):
            names = [e.name for e in entries if e.name]
            if len(names) != len(set(names)):
                raise ValueError(f"{kind}: names repeat ({', '.join(names)}): each keeps its own delivery record")
        return self
