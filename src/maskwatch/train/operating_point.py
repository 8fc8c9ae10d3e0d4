"""Choosing the operating point (models/operating_point.json) on the validation photos.

The operating point is the log-odds shift toward `no_mask`/`incorrect` (maskwatch.pipeline.apply_bias). It is
set for a target recall, as compliance systems are: the smallest shift at which every validation photo set
flags the target share of unmasked faces, while wrongly flagged masked faces stay under the limit.
"""

from __future__ import annotations

import copy
from pathlib import Path

from rich.progress import track

from maskwatch.errors import UserError
from maskwatch.evaluate.voc import load_annotations, score_predictions
from maskwatch.inference import prediction_entries
from maskwatch.media import read_image
from maskwatch.pipeline import MODES, MaskPipeline, apply_bias

BIASES = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
TARGET_UNMASKED_RECALL = 0.85  # issue 2's bar, at the compliance view's score threshold 0.5
MAX_MASKED_FALSE_ALARM = 0.10


def sweep_biases(folders: list[Path], manifest: Path, biases=BIASES) -> dict[str, dict[float, dict]]:
    """{folder name: {bias: scores}} on the val photos of each folder, from one run of the accurate pipeline."""
    mode = MODES["accurate"]
    pipeline = MaskPipeline.from_defaults(input_size=mode.input_size, min_score=mode.face_min_score)
    pipeline.unmasked_bias = 0.0
    table = {}
    for folder in folders:
        annotations, _ = load_annotations([folder], manifest)
        if not annotations:
            raise UserError(f"{folder}: the manifest lists none of its images under val")
        dets = {a.name: pipeline.analyze(read_image(Path(a.path))) for a in track(annotations, description=Path(folder).name)}
        table[Path(folder).name] = {b: _scores(dets, annotations, b) for b in biases}
    return table


def _scores(dets: dict, annotations, bias: float) -> dict:
    preds = {}
    for name, d in dets.items():
        shifted = copy.copy(d)
        shifted.class_probs = apply_bias(d.class_probs, bias)
        preds[name] = prediction_entries(shifted, MODES["accurate"].face_min_score)
    result = score_predictions(preds, annotations)
    c = result.compliance
    return {"unmasked_recall": round(c.unmasked_recall, 4), "masked_false_alarm": round(c.masked_false_alarm_rate, 4),
            "map_mask_no_mask": round(result.map_primary, 4)}


def choose_bias(table: dict[str, dict[float, dict]], target: float = TARGET_UNMASKED_RECALL,
                max_false_alarm: float = MAX_MASKED_FALSE_ALARM) -> float:
    """The smallest bias meeting the target recall on every set within the false-alarm limit; failing that,
    the one with the best worst-set recall within the limit."""
    biases = sorted(next(iter(table.values())))
    allowed = [b for b in biases if all(t[b]["masked_false_alarm"] < max_false_alarm for t in table.values())]
    if not allowed:
        return 0.0
    meeting = [b for b in allowed if all(t[b]["unmasked_recall"] >= target for t in table.values())]
    return meeting[0] if meeting else max(allowed, key=lambda b: min(t[b]["unmasked_recall"] for t in table.values()))
