"""The service configuration: one YAML file validated by pydantic; errors name the YAML line at fault.

One module per section (cameras, zones, detector, ...), the root model in `app`, the YAML reading and `${VAR}`
expansion in `loader` and `yaml_reader`, the zone editor's write-back in `edit`, the generated reference
(docs/configuration.md) in `reference`. Everything a caller needs is importable from here.
"""

from maskwatch.config.app import DEMO_VIDEO, AppConfig
from maskwatch.config.base import Label, Name, Strict
from maskwatch.config.cameras import RESERVED_CAMERA_NAMES, CameraConfig
from maskwatch.config.clips import ClipsConfig
from maskwatch.config.collect import CollectConfig
from maskwatch.config.detector import DetectorConfig
from maskwatch.config.loader import _is_union_tag, dump_config, load_config, one_line, parse_config
from maskwatch.config.privacy import PrivacyConfig
from maskwatch.config.rules import RulesConfig
from maskwatch.config.scale import RayConfig, ScaleConfig
from maskwatch.config.sinks import AppriseConfig, EmailConfig, MqttConfig, SinksConfig, WebhookConfig
from maskwatch.config.storage import StorageConfig
from maskwatch.config.tracker import TrackerConfig
from maskwatch.config.ui import UIConfig
from maskwatch.config.zones import MAX_HOURS_PER_ZONE, MAX_POLYGON_POINTS, MAX_ZONES_PER_CAMERA, ZoneConfig, ZoneList

__all__ = [
    "DEMO_VIDEO",
    "MAX_HOURS_PER_ZONE",
    "MAX_POLYGON_POINTS",
    "MAX_ZONES_PER_CAMERA",
    "RESERVED_CAMERA_NAMES",
    "AppConfig",
    "AppriseConfig",
    "CameraConfig",
    "ClipsConfig",
    "CollectConfig",
    "DetectorConfig",
    "EmailConfig",
    "Label",
    "MqttConfig",
    "Name",
    "PrivacyConfig",
    "RayConfig",
    "RulesConfig",
    "ScaleConfig",
    "SinksConfig",
    "StorageConfig",
    "Strict",
    "TrackerConfig",
    "UIConfig",
    "WebhookConfig",
    "ZoneConfig",
    "ZoneList",
    "_is_union_tag",
    "dump_config",
    "load_config",
    "one_line",
    "parse_config",
]
