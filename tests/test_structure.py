"""The code base's shape, measured from src/maskwatch (scripts/check_structure.py): no import cycle between
sub-packages, counting every import, those inside functions too."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py"


def _structure():
    spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_between_subpackages():
    structure = _structure()
    graph = structure.package_imports()
    assert {"service", "scale", "analysis"} <= set(graph) and "analysis" in graph["service"]  # it reads the imports
    assert structure.cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    structure = _structure()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert structure.cycles(graph) == [["a", "b", "c", "a"]]
    assert structure.cycles({"service": {"scale"}, "scale": {"service"}}) == [["scale", "service", "scale"]]
