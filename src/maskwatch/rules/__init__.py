"""Zones and alert rules."""

from maskwatch.rules.engine import Alert, RuleEngine, Sighting
from maskwatch.rules.zones import WHOLE_FRAME, Zone, ignored, make_zones, zone_of

__all__ = ["Alert", "RuleEngine", "Sighting", "WHOLE_FRAME", "Zone", "ignored", "make_zones", "zone_of"]
