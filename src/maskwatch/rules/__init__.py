"""Zones and alert rules."""

from maskwatch.rules.engine import Alert, RuleEngine
from maskwatch.rules.zones import WHOLE_FRAME, Zone, make_zones, zone_of

__all__ = ["Alert", "RuleEngine", "WHOLE_FRAME", "Zone", "make_zones", "zone_of"]
