"""The root of the configuration: one YAML file, one AppConfig."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from maskwatch.config.base import Strict
from maskwatch.config.cameras import CameraConfig
from maskwatch.config.clips import ClipsConfig
from maskwatch.config.collect import CollectConfig
from maskwatch.config.detector import DetectorConfig
from maskwatch.config.privacy import PrivacyConfig
from maskwatch.config.rules import RulesConfig
from maskwatch.config.scale import ScaleConfig
from maskwatch.config.sinks import AppriseConfig, EmailConfig, SinksConfig, WebhookConfig
from maskwatch.config.storage import StorageConfig
from maskwatch.config.tracker import TrackerConfig
from maskwatch.config.ui import UIConfig
from maskwatch.config.zones import ZoneConfig
from maskwatch.core.errors import UserError
from maskwatch.core.paths import REPO_ROOT

DEMO_VIDEO = REPO_ROOT / "build" / "demo.mp4"


class AppConfig(Strict):
    """The whole service: `cameras` is the one section that must be there; every other one has defaults."""

    cameras: list[CameraConfig] = Field(min_length=1, description="the cameras, at least one, each name once")
    detector: DetectorConfig = Field(default_factory=DetectorConfig, description="face detector and mask classifier")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="following faces from frame to frame")
    rules: RulesConfig = Field(default_factory=RulesConfig, description="when a tracked face becomes an alert")
    sinks: SinksConfig = Field(default_factory=SinksConfig, description="where alerts go")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="event database, snapshots, clips")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, description="which faces are hidden where")
    clips: ClipsConfig = Field(default_factory=ClipsConfig, description="short videos around alerts")
    collect: CollectConfig = Field(default_factory=CollectConfig, description="face crops of hard cases to label")
    ui: UIConfig = Field(default_factory=UIConfig, description="the web UI and API")
    scale: ScaleConfig = Field(default_factory=ScaleConfig, description="analysing cameras on other machines")

    @model_validator(mode="after")
    def _unique_cameras(self) -> Self:
        names = [c.name for c in self.cameras]
        if len(names) != len(set(names)):
            raise ValueError(f"camera names repeat: {names}")
        sinks = self.sinks
        routed: tuple[tuple[str, Sequence[WebhookConfig | EmailConfig | AppriseConfig]], ...] = (
            ("webhooks", sinks.webhooks),
            ("email", sinks.email),
            ("apprise", sinks.apprise),
        )
        for kind, routes in routed:
            for i, route in enumerate(routes):
                unknown = sorted(set(route.cameras or ()) - set(names))
                if unknown:
                    raise ValueError(f"sinks.{kind}[{i}].cameras: no camera named {', '.join(unknown)}")
        return self

    def records_clips(self, cam: CameraConfig) -> bool:
        return self.clips.enabled if cam.clips is None else cam.clips

    @property
    def cases_folder(self) -> Path:
        """collect.folder, or 'cases' beside the snapshots where it is not given."""
        return self.collect.folder if self.collect.folder is not None else self.storage.snapshots.parent / "cases"

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
        self.storage.clips = fix(self.storage.clips_folder)
        self.collect.folder = fix(self.cases_folder)
        if self.detector.classifier:
            self.detector.classifier = fix(self.detector.classifier)
        if self.detector.model.lower().endswith(".onnx"):  # a file, not a shipped model's name
            self.detector.model = str(fix(Path(self.detector.model)))
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
                        ZoneConfig(  # a cartoon face in one photo's website watermark: no person to alert on
                            name="watermark", polygon=[(0.0, 0.0), (0.15, 0.0), (0.15, 0.12), (0.0, 0.12)], ignore=True
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
