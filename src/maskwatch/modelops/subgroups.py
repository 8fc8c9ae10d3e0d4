"""Per-subgroup differences between two models' metrics, over the shape `evaluate crops|voc` write under
"subgroups": {name: [{"bin", "faces", <figure>: value, ...}, ...]}: every ratio of every bin both have."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_FACES = 30  # a subgroup smaller than this is listed, not warned about: its figures move too much by chance
WARN_DROP = 0.10  # a recall (or a rise in false alarms) this much worse than A's in a subgroup is warned about
# figures where higher is worse: their rise is the regression
LOWER_IS_BETTER = ("mask_false_alarm", "false_alarm")


@dataclass(frozen=True)
class SubgroupDelta:
    subgroup: str
    bin: str
    figure: str
    faces_a: int
    faces_b: int
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def worse_by(self) -> float:
        """How much worse B is (positive: worse), whichever way the figure points."""
        return self.delta if self.figure.startswith(LOWER_IS_BETTER) else -self.delta

    def to_dict(self) -> dict:
        return {
            "subgroup": self.subgroup,
            "bin": self.bin,
            "figure": self.figure,
            "faces_a": self.faces_a,
            "faces_b": self.faces_b,
            "a": self.a,
            "b": self.b,
            "delta": self.delta,
        }


def _number(value: object) -> float | None:
    """A figure to compare: a float (a ratio); counts (ints) and the rest are not."""
    if not isinstance(value, float):
        return None
    return None if math.isnan(value) else float(value)


def subgroup_deltas(metrics_a: dict, metrics_b: dict) -> list[SubgroupDelta]:
    """B - A for every ratio (float figure; counts are left out) of every subgroup bin both metrics have."""
    groups_a, groups_b = metrics_a.get("subgroups") or {}, metrics_b.get("subgroups") or {}
    out = []
    for name, bins_a in groups_a.items():
        by_bin_b = {str(row.get("bin")): row for row in groups_b.get(name) or []}
        for row_a in bins_a:
            row_b = by_bin_b.get(str(row_a.get("bin")))
            if row_b is None:
                continue
            for figure, value_a in row_a.items():
                a, b = _number(value_a), _number(row_b.get(figure))
                if figure in ("bin", "faces") or a is None or b is None:
                    continue
                faces_a, faces_b = int(row_a.get("faces", 0)), int(row_b.get("faces", 0))
                out.append(SubgroupDelta(name, str(row_a["bin"]), figure, faces_a, faces_b, a, b))
    return out


def subgroup_warnings(deltas: list[SubgroupDelta], min_faces: int = MIN_FACES, drop: float = WARN_DROP) -> list[str]:
    """The subgroups (with min_faces or more in both) where B is worse than A by `drop` or more."""
    return [
        f"{d.subgroup} {d.bin}: {d.figure} {d.a:.3f} -> {d.b:.3f} ({d.delta:+.3f}, {d.faces_b} faces)"
        for d in deltas
        if min(d.faces_a, d.faces_b) >= min_faces and d.worse_by >= drop
    ]
