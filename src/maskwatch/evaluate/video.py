"""Scoring `maskwatch detect VIDEO --json` output per analysed frame against a clip's per-frame ground truth.

The truth is what `maskwatch data scenes --kind video` writes beside each clip:
{"<stem>_f<frame, 6 digits>": [{box, label, difficult}]}. Only the analysed frames count: truth keys the predictions
lack are left out, prediction keys without truth are an error (the wrong truth file, or a renamed clip).

- mAP over mask and no_mask at IoU 0.5 with `incorrect` faces ignored (a prediction on one counts neither way);
- the compliance view with all three classes: unmasked faces (no_mask + incorrect) flagged at score >= threshold,
  masked faces wrongly flagged, as `evaluate voc` reports them;
- each with its 95 % interval from resampling whole clips (frames of several clips pooled in one file), since the
  frames of a clip show the same people: one clip's interval is the figure itself, a few give a wide one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, normalize_label
from maskwatch.data.voc_folder import ImageAnnotation
from maskwatch.evaluate.voc import PRIMARY_CLASSES, VocResult, score_predictions


@dataclass
class VideoScore:
    frames: int  # analysed frames scored
    ignoring_incorrect: VocResult  # incorrect faces difficult: mAP over mask/no_mask
    all_classes: VocResult  # the three classes as labelled: the compliance view, incorrect AP
    clips: int  # clips among the frames, each resampled whole for the 95 % intervals

    def to_dict(self) -> dict:
        view = self.all_classes.compliance
        return {
            "kind": "video",
            "frames": self.frames,
            "n_faces": self.all_classes.n_faces,
            "map_mask_no_mask": self.ignoring_incorrect.map_primary,
            "ap": {
                "mask": self.ignoring_incorrect.curves["mask"].ap,
                "no_mask": self.ignoring_incorrect.curves["no_mask"].ap,
                "incorrect": self.all_classes.curves["incorrect"].ap,
            },
            "threshold": view.threshold,
            "unmasked_found": view.unmasked_recall,
            "masked_flagged": view.masked_false_alarm_rate,
            "n_unmasked": view.n_unmasked,
            "n_masked_detected": view.n_masked_detected,
            "n_false_detections": view.n_false_detections,
            "clips": self.clips,
            "intervals": {
                "map_mask_no_mask": self.ignoring_incorrect.intervals.get("map_mask_no_mask"),
                "ap_incorrect": self.all_classes.intervals.get("ap_incorrect"),
                "unmasked_found": self.all_classes.intervals.get("unmasked_recall"),
                "masked_flagged": self.all_classes.intervals.get("masked_false_alarm_rate"),
            },
        }


def read_json_object(path: Path, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: {what} must be a JSON object {{frame key: [faces]}}")
    return data


def truth_annotations(truth: dict, keys: list[str]) -> list[ImageAnnotation]:
    """The ground truth of the frames `keys` (every one must be in `truth`) as annotations named by the key."""
    missing = [k for k in keys if k not in truth]
    if missing:
        raise UserError(
            f"{len(missing)} predicted frame(s) have no ground truth (first: {missing[0]}): "
            "is it the truth file of this clip?"
        )
    annotations = []
    for key in keys:
        faces = truth[key]
        try:
            boxes = [[float(v) for v in face["box"]] for face in faces]
            labels = [normalize_label(str(face["label"])) for face in faces]
            difficult = [bool(face.get("difficult", False)) for face in faces]
        except (KeyError, TypeError, ValueError):
            raise UserError(f"ground truth of {key}: each face needs box [x1,y1,x2,y2] and label") from None
        if any(label not in CLASSES for label in labels) or any(len(b) != 4 for b in boxes):
            raise UserError(f"ground truth of {key}: a bad box or label")
        annotations.append(
            ImageAnnotation(key, np.array(boxes).reshape(-1, 4), [str(label) for label in labels], np.array(difficult))
        )
    return annotations


def score_video(preds: dict, truth: dict, threshold: float = 0.5) -> VideoScore:
    """detect --json's predictions against the clip's truth, over the frames the predictions hold."""
    if not preds:
        raise UserError("the predictions hold no frame")
    annotations = truth_annotations(truth, sorted(preds))
    clips = [a.name.rsplit("_f", 1)[0] for a in annotations]
    ignoring, kept = (
        score_predictions(preds, annotations, PRIMARY_CLASSES, threshold, incorrect=mode, intervals=True, groups=clips)
        for mode in ("ignore", "keep")
    )
    return VideoScore(len(annotations), ignoring, kept, len(set(clips)))
