"""The service configuration: one YAML file validated by pydantic; errors name the YAML line at fault."""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskwatch.core.errors import UserError
from maskwatch.core.labels import Label
from maskwatch.core.paths import REPO_ROOT
from maskwatch.rules.hours import parse_window, time_zone

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]  # goes into MQTT topics and URLs
DEMO_VIDEO = REPO_ROOT / "build" / "demo.mp4"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZoneConfig(Strict):
    """A polygon in relative coordinates (0..1 of the frame's width and height)."""

    name: Name
    polygon: list[tuple[float, float]] = Field(min_length=3)
    restricted: bool = True
    hours: list[str] = Field(
        default_factory=list,
        description="when a restricted zone is in force, e.g. 'mon-fri 08:00-18:00' (local time); empty: always",
    )
    alert_labels: list[Label] | None = Field(
        None,
        min_length=1,
        description="the labels that alert in this zone, "
        "e.g. [no_mask] where a mask below the nose is tolerated; unset: "
        "rules.alert_labels",
    )
    ignore: bool = Field(
        False,
        description="faces here are left out: not tracked, alerted on or counted (a poster, "
        "a screen, a mirror); they are still hidden",
    )

    @model_validator(mode="after")
    def _ignored_is_all_it_is(self):
        if self.ignore:
            if self.hours or self.alert_labels:
                raise ValueError("an ignored zone takes no hours or alert_labels")
            self.restricted = False
        return self

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, hours):
        for entry in hours:
            parse_window(entry)
        return hours

    @field_validator("polygon")
    @classmethod
    def _inside_frame(cls, polygon):
        for x, y in polygon:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"point ({x}, {y}) is outside 0..1 (coordinates are relative to the frame)")
        return polygon


class CameraConfig(Strict):
    name: Name
    source: str | int = Field(description="file path, rtsp://, http(s):// URL, or webcam index")
    fps: float = Field(5.0, gt=0, le=60, description="frames analysed per second at most")
    loop: bool = Field(True, description="files: start again at the end")
    reconnect_max_seconds: float = Field(10.0, gt=0, description="longest wait between reconnection attempts")
    enabled: bool = True
    zones: list[ZoneConfig] = Field(default_factory=list, description="empty: the whole frame is one restricted zone")
    clips: bool | None = Field(None, description="record alert clips of this camera; unset: clips.enabled")
    max_pixels: int = Field(
        3840 * 2160,
        ge=64 * 64,
        description="frames larger than this (width x height; default 4K) are refused, before they are decoded "
        "where the source allows it (HTTP/MJPEG cameras): the camera shows an error and the others go on",
    )

    @model_validator(mode="after")
    def _unique_zones(self):
        names = [z.name for z in self.zones]
        if len(names) != len(set(names)):
            raise ValueError(f"zone names repeat: {names}")
        return self

    @property
    def kind(self) -> str:
        if isinstance(self.source, int) or str(self.source).isdigit() or str(self.source).startswith("/dev/video"):
            return "webcam"
        scheme = str(self.source).split("://", 1)[0].lower() if "://" in str(self.source) else ""
        return {"rtsp": "rtsp", "rtsps": "rtsp", "http": "http", "https": "http"}.get(scheme, "file")


class DetectorConfig(Strict):
    input_size: int = Field(640, ge=128, le=2048)
    min_score: float = Field(0.5, gt=0, lt=1)
    providers: Literal["cpu", "cuda", "openvino"] = "cpu"
    backend: Literal["onnxruntime", "torch"] = Field(
        "onnxruntime",
        description="torch: the PyTorch backend "
        "(maskwatch[gpu]) that runs all cameras' frames as one batch, on the "
        "GPU with providers: cuda",
    )
    threads: int | None = Field(None, ge=1)
    classifier: Path | None = None
    motion_threshold: float = Field(
        0.002,
        ge=0,
        le=1,
        description="fraction of a small grey copy's pixels that must "
        "change since the last detection to detect again; 0: detect every analysed frame",
    )
    redetect_seconds: float = Field(1.0, gt=0, description="a still camera is still detected at least this often")


class TrackerConfig(Strict):
    lost_seconds: float = Field(2.0, gt=0, description="a face unseen this long ends its track")
    match_threshold: float = Field(0.8, gt=0, lt=1)
    smoothing_frames: int = Field(5, ge=1, le=100, description="class probabilities averaged over this many frames")


class RulesConfig(Strict):
    alert_labels: list[Label] = Field(default_factory=lambda: ["no_mask", "incorrect"])
    min_seconds: float = Field(1.0, ge=0, description="the smoothed label must hold this long before it alerts")
    min_confidence: float = Field(0.5, ge=0, le=1)
    cooldown_seconds: float = Field(60.0, ge=0, description="one alert per track per cooldown")
    timezone: str | None = Field(
        None, description="IANA time zone of the zones' hours, e.g. 'Europe/Berlin'; unset: the machine's local time"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name):
        if name is not None:
            time_zone(name)
        return name

    @property
    def tzinfo(self):
        return time_zone(self.timezone) if self.timezone else None

    @property
    def tzname(self) -> str:
        """The time zone's name for people: the configured one, else the machine's (e.g. 'UTC')."""
        return self.timezone or datetime.now().astimezone().tzname()


class MqttConfig(Strict):
    host: str
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    topic_prefix: str = "maskwatch"
    qos: Literal[0, 1, 2] = 1
    client_id: str | None = None
    tls: bool = False
    home_assistant: bool = Field(False, description="publish Home Assistant MQTT discovery for each camera")
    discovery_prefix: str = "homeassistant"
    snapshots: bool = Field(
        False,
        description="publish each alert's snapshot (faces hidden) as a retained JPEG on <prefix>/<camera>/snapshot",
    )


class WebhookConfig(Strict):
    url: str = Field(pattern=r"^https?://")
    secret: str | None = None
    timeout_seconds: float = Field(5.0, gt=0)
    name: Name | None = None
    snapshots: bool = Field(
        False, description="add the alert's snapshot (faces hidden) to the body as base64 JPEG, snapshot_jpeg"
    )
    camera_status: bool = Field(
        False,
        description='also POST {"type": "camera_status", ...} when a camera has '
        "been offline for sinks.camera_offline_seconds, and when it is back",
    )
    format: Literal["json", "text"] = Field(
        "json",
        description='text: {"text": "<one line>"}, the body chat '
        "tools' incoming webhooks (Slack, Mattermost, Teams, Google Chat) post",
    )
    cameras: list[Name] | None = Field(
        None, min_length=1, description="only these cameras' alerts and notices; unset: all"
    )

    @model_validator(mode="after")
    def _snapshots_need_json(self):
        if self.snapshots and self.format == "text":
            raise ValueError("snapshots go in JSON bodies only: set format: json, or snapshots: false")
        return self


class EmailConfig(Strict):
    name: Name | None = None
    host: str = Field(description="SMTP server")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (port 465) or none (a relay on this network)"
    )
    username: str | None = None
    password: str | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="the From address")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    timeout_seconds: float = Field(10.0, gt=0)
    snapshots: bool = Field(False, description="attach the alert's snapshot (faces hidden)")
    camera_status: bool = Field(
        False,
        description="also mail when a camera has been offline for sinks.camera_offline_seconds, and when it is back",
    )
    daily_summary: str | None = Field(
        None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM in "
        "rules.timezone: each day then, a mail with the day before's people counts per "
        "camera and zone and its alerts",
    )
    cameras: list[Name] | None = Field(
        None, min_length=1, description="only these cameras' alerts, notices and figures; unset: all"
    )


class SinksConfig(Strict):
    log: bool = True
    camera_offline_seconds: float = Field(
        10.0, ge=0, description="how long a camera is offline before webhooks with camera_status are told"
    )
    mqtt: MqttConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: list[EmailConfig] = Field(
        default_factory=list, description="one mapping, or a list of them (say one per ward, each with its cameras)"
    )
    retry_seconds: float = Field(30.0, gt=0, description="longest wait between retries of an undelivered event")

    @field_validator("email", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return [value] if isinstance(value, dict) else [] if value is None else value

    @model_validator(mode="after")
    def _names_once(self):
        for kind, entries in (("webhooks", self.webhooks), ("email", self.email)):
            names = [e.name for e in entries if e.name]
            if len(names) != len(set(names)):
                raise ValueError(f"{kind}: names repeat ({', '.join(names)}): each keeps its own delivery record")
        return self


class StorageConfig(Strict):
    database: Path = Path("maskwatch-data/events.db")
    snapshots: Path = Path("maskwatch-data/snapshots")
    retention_days: float = Field(7.0, gt=0)
    snapshot_retention_days: float | None = Field(
        None,
        gt=0,
        description="snapshots go sooner than their events (the events stay, without an image); unset: with the events",
    )
    count_retention_days: float = Field(
        400.0,
        gt=0,
        description="people counts (compliance figures, no person in them) are kept this long, for yearly reports",
    )
    jpeg_quality: int = Field(85, ge=30, le=100)
    max_media_mb: float | None = Field(
        None,
        gt=0,
        description="snapshots and clips together are kept under this "
        "size: past it the oldest files go first, their events stay; unset: no cap",
    )
    clips: Path | None = Field(None, description="alert clips (clips:); unset: a 'clips' folder beside snapshots")
    clip_retention_days: float | None = Field(
        None,
        gt=0,
        description="clips go sooner than their events (the events stay, without a clip); unset: with the snapshots",
    )

    @model_validator(mode="after")
    def _clips_beside_snapshots(self):
        if self.clips is None:
            self.clips = self.snapshots.parent / "clips"
        return self


class ClipsConfig(Strict):
    enabled: bool = Field(
        False,
        description="record a short clip around each alert, every face hidden in every "
        "frame (off by default: video of people, even with faces hidden, is more than a snapshot)",
    )
    before_seconds: float = Field(3.0, ge=0, le=30)
    after_seconds: float = Field(5.0, ge=0, le=60, description="recorded after the clip's last alert")
    max_seconds: float = Field(
        30.0,
        gt=0,
        le=300,
        description="alerts on a camera while its clip records join that "
        "clip as long as it stays this short; later ones start their own",
    )
    width: int = Field(640, ge=160, le=3840, description="frames wider than this are scaled down")
    kbps: int = Field(500, ge=50, le=20000, description="VP8 bit rate")

    @model_validator(mode="after")
    def _room_for_one_alert(self):
        if self.max_seconds < self.before_seconds + self.after_seconds:
            raise ValueError("max_seconds must be at least before_seconds + after_seconds")
        return self


class PrivacyConfig(Strict):
    save_snapshots: bool = True
    snapshot_show_offender: bool = Field(False, description="leave the offending face unblurred in its snapshot")
    blur_live: bool = True
    blur_method: Literal["pixelate", "gaussian"] = "pixelate"
    blur_min_score: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="faces down to this detector score are hidden, "
        "doubtful ones included (only faces above detector.min_score are tracked)",
    )


class UIConfig(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: str | None = Field(
        None,
        min_length=12,
        description="access token (12 characters or more); empty: a new one is generated at each start",
    )
    viewer_token: str | None = Field(
        None,
        min_length=12,
        description="a second token that may only look (live view, events, figures): no zone edits, no reviews",
    )
    wrong_tokens_per_minute: int = Field(
        10,
        ge=0,
        description="an address that sends this many wrong tokens "
        "within a minute is refused for the rest of it (429); 0: never",
    )
    tls_cert: Path | None = Field(None, description="PEM certificate (chain): serve the UI and API over HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")

    @model_validator(mode="after")
    def _consistent(self):
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both tls_cert and tls_key, or neither")
        if self.viewer_token and self.viewer_token == self.token:
            raise ValueError("viewer_token must differ from token")
        return self


class RayConfig(Strict):
    address: str | None = Field(
        None, description="Ray cluster to join ('auto', 'ray://head:10001'); empty: start Ray on this machine"
    )
    shards: int = Field(
        2,
        ge=1,
        description="camera shards: actors that each decode and analyse a share of the "
        "cameras, wherever Ray places them",
    )
    cpus_per_shard: float = Field(1.0, gt=0)
    outbox: Path | None = Field(
        None,
        description="folder, on each node, where a shard keeps the alerts the head has not stored yet, so that "
        "a shard restarted after a crash hands them over; unset: maskwatch-shards in the node's temporary folder",
    )


class ScaleConfig(Strict):
    ray: RayConfig | None = Field(
        None,
        description="analyse the cameras on a Ray cluster; the UI, API, event store and sinks stay on this machine",
    )


class AppConfig(Strict):
    cameras: list[CameraConfig] = Field(min_length=1)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    sinks: SinksConfig = Field(default_factory=SinksConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    clips: ClipsConfig = Field(default_factory=ClipsConfig)
    ui: UIConfig = Field(default_factory=UIConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)

    @model_validator(mode="after")
    def _unique_cameras(self):
        names = [c.name for c in self.cameras]
        if len(names) != len(set(names)):
            raise ValueError(f"camera names repeat: {names}")
        for kind, routes in (("webhooks", self.sinks.webhooks), ("email", self.sinks.email)):
            for i, route in enumerate(routes):
                unknown = sorted(set(route.cameras or ()) - set(names))
                if unknown:
                    raise ValueError(f"sinks.{kind}[{i}].cameras: no camera named {', '.join(unknown)}")
        return self

    def records_clips(self, cam: CameraConfig) -> bool:
        return self.clips.enabled if cam.clips is None else cam.clips

    def camera(self, name: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise UserError(f"no camera named {name!r}")

    def ensure_token(self) -> str:
        if not self.ui.token:
            self.ui.token = secrets.token_urlsafe(18)
        return self.ui.token

    def resolve_paths(self, base: Path) -> AppConfig:
        """Relative file paths in the config are relative to the config file's folder."""

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p)

        self.storage.database = fix(self.storage.database)
        self.storage.snapshots = fix(self.storage.snapshots)
        self.storage.clips = fix(self.storage.clips)
        if self.detector.classifier:
            self.detector.classifier = fix(self.detector.classifier)
        if self.ui.tls_cert and self.ui.tls_key:
            self.ui.tls_cert, self.ui.tls_key = fix(self.ui.tls_cert), fix(self.ui.tls_key)
        for cam in self.cameras:
            if cam.kind == "file":
                cam.source = str(fix(Path(str(cam.source))))
        return self

    @classmethod
    def default_demo(cls) -> AppConfig:
        """What `make run` serves: the demo clip looped as one camera, SQLite under ./maskwatch-data/."""
        return cls(
            cameras=[
                CameraConfig(
                    name="demo",
                    source=str(DEMO_VIDEO),
                    fps=5,
                    zones=[
                        ZoneConfig(
                            name="entrance", polygon=[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)], restricted=True
                        ),
                        ZoneConfig(
                            name="hall", polygon=[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)], restricted=False
                        ),
                    ],
                )
            ],
            storage=StorageConfig(
                database=Path("maskwatch-data/events.db").absolute(),
                snapshots=Path("maskwatch-data/snapshots").absolute(),
                max_media_mb=500,
            ),  # the demo alerts all the time: about 250 MB of clips an hour
            clips=ClipsConfig(enabled=True),
        )


# --- loading with line numbers -------------------------------------------------------------------------------


def _node_at(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location (keys and list indices)."""
    node = root
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
            if nxt is None:  # a key that is missing or not allowed: point at the key itself if it exists
                return next((k for k, v in node.value if k.value == str(key)), node)
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _dotted(loc: tuple) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def _is_union_tag(part) -> bool:
    """pydantic puts the union member tried into the error location ('str', 'int', 'function-after[...]')."""
    return isinstance(part, str) and (part in {"str", "int", "float", "bool", "none"} or "[" in part)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _UnsetVariable(Exception):
    def __init__(self, loc: tuple, name: str):
        self.loc, self.name = loc, name


def _expand_env(value, loc: tuple = ()):
    """`${NAME}` in any string value takes NAME's value from the environment, so that secrets (passwords, tokens)
    can stay out of the file. Zones saved from the UI rewrite the file, never these values."""
    if isinstance(value, str):

        def lookup(match):
            if match[1] not in os.environ:
                raise _UnsetVariable(loc, match[1])
            return os.environ[match[1]]

        return _ENV_REF.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*loc, i)) for i, v in enumerate(value)]
    return value


def parse_config(text: str, source: str = "<config>") -> AppConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{source}{line}: YAML syntax error: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise UserError(f"{source}: YAML error: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}:1: the config must be a mapping with at least 'cameras:'")
    try:
        data = _expand_env(data)
    except _UnsetVariable as err:
        node = _node_at(root, err.loc)
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        raise UserError(f"{source}{line}: {_dotted(err.loc)}: environment variable {err.name} is not set") from None
    try:
        return AppConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(p for p in first["loc"] if not _is_union_tag(p))
        node = _node_at(root, loc)
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(f"{source}{line}: {_dotted(loc)}: {message}{more}") from None


def load_config(path: str | Path) -> AppConfig:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config {path}: {err}") from None
    return parse_config(text, str(path)).resolve_paths(path.resolve().parent)


__all__ = ["AppConfig", "CameraConfig", "ZoneConfig", "RulesConfig", "load_config", "parse_config"]
