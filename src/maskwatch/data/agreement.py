"""Faces labelled twice: the same face in two near-duplicate photos of one group (a re-posted photo, a frame and
its neighbour, the same picture annotated by two people), matched by the perceptual hash of their crops. Where the
two labels differ, the annotations disagree with each other, which bounds what any classifier can score on them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from maskwatch.core.media import read_image
from maskwatch.data.hashing import phash
from maskwatch.data.manifest import ManifestRow

SAME_FACE_BITS = 6  # crop hashes this close are one face: checked by eye on the shared data's pairs


@dataclass
class FacePair:
    a: ManifestRow
    b: ManifestRow
    bits: int

    @property
    def agree(self) -> bool:
        return self.a.label == self.b.label


def faces_labelled_twice(directory: Path, rows: list[ManifestRow]) -> list[FacePair]:
    """One pair per face found in two images of the same group, closest hashes first, each crop in one pair."""
    by_group: dict[str, list[ManifestRow]] = defaultdict(list)
    for row in rows:
        by_group[row.group].append(row)
    pairs = []
    for members in by_group.values():
        if len({r.image for r in members}) < 2:
            continue
        hashes = [int(phash(read_image(Path(directory) / r.path))) for r in members]
        close = sorted(
            ((hashes[i] ^ hashes[j]).bit_count(), i, j)
            for i in range(len(members))
            for j in range(i + 1, len(members))
            if members[i].image != members[j].image
        )
        used: set[int] = set()
        for bits, i, j in close:
            if bits > SAME_FACE_BITS:
                break
            if i not in used and j not in used:
                used |= {i, j}
                pairs.append(FacePair(members[i], members[j], bits))
    return pairs


def agreement_summary(pairs: list[FacePair]) -> dict[str, list[int]]:
    """{"all" or "source_a+source_b": [pairs with different labels, pairs]}."""
    summary: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in pairs:
        for key in ("all", "+".join(sorted((p.a.source, p.b.source)))):
            summary[key][0] += not p.agree
            summary[key][1] += 1
    return dict(summary)
