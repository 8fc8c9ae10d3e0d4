"""Zones and alert rules."""

from maskwatch.rules.engine import Alert, RuleEngine, Sighting
from maskwatch.rules.zones import WHOLE_FRAME, Zone, ignored, make_zones, zone_of

__all__ = ["WHOLE_FRAME", "Alert", "RuleEngine", "Sighting", "Zone", "ignored", "make_zones", "zone_of"]
