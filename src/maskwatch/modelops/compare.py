"""Two mask classifiers on the same data: the validation crops of a built dataset, a folder of labelled cases (class
folders as `maskwatch cases export` writes them, or a built dataset of them) and, optionally, validation photos
through the same face detector. Each set gives both models' metrics side by side, the subgroup differences and, on
crops, the paired test and verdict (modelops.stats)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.classify.classifier import MaskClassifier
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, UNMASKED, normalize_label
from maskwatch.core.media import read_image
from maskwatch.data.manifest import manifest_path, read_manifest
from maskwatch.evaluate.crops import score_crop_predictions
from maskwatch.modelops.stats import VERDICT_RULE, PairedTest, paired_test, verdict
from maskwatch.modelops.subgroups import subgroup_deltas, subgroup_warnings

BATCH = 256
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass
class LabelledCrops:
    """Face crops with their true labels; groups: crops that must be resampled together (one photo's faces)."""

    name: str
    paths: list[Path]
    labels: list[str]
    sources: list[str]
    groups: list[str]
    face_px: list[float] = field(default_factory=list)
    brightness: list[float] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)  # the face in its photo ("x1 y1 x2 y2"), where known


def dataset_crops(location: Path, name: str = "crops", split: str = "val") -> LabelledCrops:
    """The `split` rows of a built dataset (its folder or its manifest.csv)."""
    path = manifest_path(location)
    rows = read_manifest(path, split=split)  # box, face_px, brightness where the manifest has them
    root = path.parent
    return LabelledCrops(
        name,
        [root / r.path for r in rows],
        [r.label for r in rows],
        [r.source for r in rows],
        [r.group or r.path for r in rows],
        [r.face_px for r in rows],
        [r.brightness for r in rows],
        [r.box for r in rows],
    )


def folder_crops(folder: Path, name: str = "cases") -> LabelledCrops:
    """Every crop under the class folders of `folder` (mask/, no_mask/, incorrect/ or their aliases; not_a_face/
    and other folders are left out); a built dataset of cases (with manifest.csv) gives its val split instead."""
    folder = Path(folder)
    if (folder / "manifest.csv").is_file():
        return dataset_crops(folder, name)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder of labelled cases")
    paths, labels = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        label = normalize_label(sub.name)
        if label is None:
            continue
        found = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += found
        labels += [label] * len(found)
    if not paths:
        raise UserError(f"{folder}: no crops in class folders ({', '.join(CLASSES)})")
    return LabelledCrops(name, paths, labels, [name] * len(paths), [str(p) for p in paths])


def predict_crops(classifier: MaskClassifier, crops: LabelledCrops) -> np.ndarray:
    probs = []
    for start in range(0, len(crops.paths), BATCH):
        batch = [read_image(p) for p in crops.paths[start : start + BATCH]]
        probs.append(classifier.predict(batch))
    return np.concatenate(probs) if probs else np.zeros((0, len(CLASSES)), np.float32)


def subgroup_reports(crops: LabelledCrops, predicted: dict[str, list[str]]) -> dict[str, dict]:
    """Per model, what `evaluate crops` writes under "subgroups" (evaluate.subgroups): face size, brightness, pose
    and mask colour bins of the same crops; the pose detector runs once per crop for both models."""
    from maskwatch.evaluate.subgroup_faces import crop_outcomes, parse_box, pose_detector
    from maskwatch.evaluate.subgroups import subgroup_report
    from maskwatch.modelops.photos import SameFaces

    detector = SameFaces(pose_detector())
    boxes = [parse_box(b) for b in crops.boxes] if crops.boxes else [None] * len(crops.paths)
    face_px = crops.face_px or [float("nan")] * len(crops.paths)
    outcomes: dict[str, list] = {key: [] for key in predicted}
    for start in range(0, len(crops.paths), BATCH):
        part = slice(start, start + BATCH)
        images = [read_image(p) for p in crops.paths[part]]
        for key, said in predicted.items():
            found = crop_outcomes(images, crops.labels[part], said[part], boxes[part], face_px[part], detector)  # type: ignore[arg-type]
            outcomes[key] += found
    return {key: subgroup_report(found) for key, found in outcomes.items()}


def summary(metrics: dict, labels: list[str], predicted: list[str]) -> dict:
    """What the side-by-side table shows of one model on one set."""
    truth, said = np.array(labels), np.array(predicted)
    unmasked, masked = np.isin(truth, list(UNMASKED)), truth == "mask"
    called_unmasked = np.isin(said, list(UNMASKED))
    return {
        "n": len(labels),
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "per_class": metrics["per_class"],
        "unmasked_recall": float(called_unmasked[unmasked].mean()) if unmasked.any() else float("nan"),
        "false_alarms": int((called_unmasked & masked).sum()),  # masked faces called no_mask or incorrect
        "false_alarm_rate": float(called_unmasked[masked].mean()) if masked.any() else float("nan"),
    }


def compare_crops(
    a: MaskClassifier,
    b: MaskClassifier,
    crops: LabelledCrops,
    spread: dict | None = None,
    seed: int = 0,
    subgroups: bool = True,
) -> dict:
    """Both models on the same crops: metrics, subgroup differences, McNemar and bootstrap, and the verdict."""
    probs = {"a": predict_crops(a, crops), "b": predict_crops(b, crops)}
    predicted = {key: [CLASSES[i] for i in p.argmax(axis=1)] for key, p in probs.items()}
    reports = subgroup_reports(crops, predicted) if subgroups else {}
    metrics, side = {}, {}
    for key, p in probs.items():
        result = score_crop_predictions(
            crops.labels,
            crops.sources,
            p,
            face_px=crops.face_px or None,
            brightness=crops.brightness or None,
        )
        result.subgroups = reports.get(key, {})
        metrics[key] = result.to_dict()
        side[key] = summary(metrics[key], crops.labels, predicted[key])
    truth = np.array(crops.labels)
    test: PairedTest = paired_test(
        truth == np.array(predicted["a"]),
        truth == np.array(predicted["b"]),
        np.isin(truth, list(UNMASKED)),
        np.isin(predicted["a"], list(UNMASKED)),
        np.isin(predicted["b"], list(UNMASKED)),
        np.array(crops.groups),
        seed,
    )
    said, reasons = verdict(test, spread)
    deltas = subgroup_deltas(metrics["a"], metrics["b"])
    return {
        "set": crops.name,
        "a": side["a"],
        "b": side["b"],
        "per_source": {k: metrics[k]["per_source"] for k in ("a", "b")},
        "paired": test.to_dict(),
        "verdict": said,
        "reasons": reasons,
        "subgroups": [d.to_dict() for d in deltas],
        "subgroup_warnings": subgroup_warnings(deltas),
        "metrics": metrics,
    }


def split_notes(models: dict[str, Path], manifest: Path) -> list[str]:
    """Where a model says which manifest it was trained on (`maskwatch train` writes train_manifest_sha256 into the
    ONNX file) and it is not the one compared on: that build's split may differ, and its val crops may include
    crops the model was trained on."""
    import hashlib

    from maskwatch.classify.classifier import onnx_metadata

    here = hashlib.sha256(manifest_path(manifest).read_bytes()).hexdigest()
    notes = []
    for key, path in models.items():
        trained_on = onnx_metadata(path).get("train_manifest_sha256")
        if not trained_on:
            notes.append(
                f"{key.upper()} does not say which manifest it was trained on: if another build's, its val crops may "
                "include crops it learnt"
            )
        elif trained_on != here:
            notes.append(
                f"{key.upper()} was trained on another manifest (sha256 {trained_on[:12]}, this one {here[:12]}): "
                "where the two builds split the photos differently, its val crops may include crops it learnt"
            )
    return notes


def overall_verdict(sets: list[dict]) -> str:
    """Worse where any set with a paired test says worse; else the first such set's verdict (the crops come first)."""
    said = [s["verdict"] for s in sets if "verdict" in s]
    if not said:
        return "no detectable difference"
    return "worse" if "worse" in said else said[0]


def compare(
    model_a: Path,
    model_b: Path,
    crops: Path | None = None,
    cases: Path | None = None,
    spread: dict | None = None,
    seed: int = 0,
    subgroups: bool = True,
) -> dict:
    """Everything `models compare --json` writes, but the photos (compare_photos adds them)."""
    if crops is None and cases is None:
        raise UserError("nothing to compare on: give --crops (a built dataset) and/or --cases (labelled cases)")
    a, b = MaskClassifier(model_a), MaskClassifier(model_b)
    sets, notes = [], []
    if crops is not None:
        sets.append(compare_crops(a, b, dataset_crops(crops), spread, seed, subgroups))
        notes = split_notes({"a": model_a, "b": model_b}, crops)
    if cases is not None:
        sets.append(compare_crops(a, b, folder_crops(cases), spread, seed, subgroups))
    return {
        "a": {"path": str(model_a), "version": a.version},
        "b": {"path": str(model_b), "version": b.version},
        "rule": VERDICT_RULE,
        "spread": spread,
        "sets": sets,
        "verdict": overall_verdict(sets),
        "notes": notes,
    }
