"""`maskwatch data audit`: rank likely label errors in a built crop dataset with cleanlab.

Training the CNN k times on a small CPU is too slow, so the audit reads the shipped (or given) classifier's
penultimate features (the input of its last linear layer, of each network where the file averages several, added
as ONNX graph outputs at run time), fits a
logistic regression on them in k folds grouped by the manifest's near-duplicate groups (a face and its copies are
never on both sides) and so gets out-of-fold probabilities for every crop; cleanlab's find_label_issues then names
the crops whose given label those probabilities doubt most, ranked by self-confidence (p of the given label).

The classifier saw the train split's labels when it was trained, so its features lean towards them: suspects from
train crops are a lower bound, val crops (never trained on) are audited more fairly. Nothing here edits a source:
corrections go to an overrides file that `maskwatch data build --overrides` applies (maskwatch.data.overrides).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import MANIFEST_COLUMNS, ManifestRow, read_manifest

if TYPE_CHECKING:
    import onnxruntime as ort

BATCH = 256
FOLDS = 5
SHEET_TILES = 64


@dataclass
class Suspect:
    rank: int
    row: ManifestRow
    given: str
    suggested: str
    quality: float  # out-of-fold probability of the given label (cleanlab's self-confidence)
    probs: np.ndarray  # out-of-fold probabilities over CLASSES


@dataclass
class AuditResult:
    n_crops: int
    suspects: list[Suspect]
    oof_accuracy: float  # of the out-of-fold probabilities against the given labels
    flips: dict[str, dict[str, int]]  # given -> suggested -> suspects
    per_source: dict[str, dict[str, int]]  # source -> {"crops", "suspects"}


_PASS_THROUGH = ("Softmax", "Identity", "Reshape", "Flatten", "ReduceMean", "Concat", "Unsqueeze")


def _penultimate(model: object) -> list[str]:
    """Names of the tensors fed into the last linear layer before the graph's (softmax) output: one per network,
    several where the file averages several (maskwatch.train.ensemble)."""
    graph = model.graph  # type: ignore[attr-defined]
    producer = {out: node for node in graph.node for out in node.output}
    found: list[str] = []
    pending = [graph.output[0].name]
    while pending:
        node = producer.get(pending.pop(0))
        if node is not None and node.op_type in ("Gemm", "MatMul"):
            found.append(str(node.input[0]))
        elif node is not None and node.op_type in _PASS_THROUGH:
            pending.extend(name for name in node.input if name in producer and producer[name].op_type != "Constant")
        else:
            raise UserError("the classifier has no linear layer before its output: cannot read its features")
    return found


def feature_session(model_path: Path) -> tuple[ort.InferenceSession, str, list[str], int]:
    """(session with the probabilities and the penultimate features as outputs, probs name, features names,
    input side) of a classifier ONNX; the file is not changed."""
    import onnx
    import onnxruntime as ort

    from maskwatch.classify.classifier import MaskClassifier

    classifier = MaskClassifier(model_path)  # checks the model's contract and reads its input side
    model = onnx.load(str(classifier.model_path))
    features = _penultimate(model)
    for name in features:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session, model.graph.output[0].name, features, classifier.input_size


def crop_features(dataset_dir: Path, rows: list[ManifestRow], model_path: Path | None) -> np.ndarray:
    """(N, D) penultimate features of the rows' crops."""
    import cv2

    from maskwatch.classify.classifier import DEFAULT_MODEL, float_model
    from maskwatch.core.media import read_image

    # the FP32 file's features: an INT8 graph's linear layer is a QGemm, and its features are on a coarse grid
    session, _, features, side = feature_session(float_model(Path(model_path)) if model_path else DEFAULT_MODEL)
    name = session.get_inputs()[0].name
    out = []
    for start in range(0, len(rows), BATCH):
        crops = [read_image(dataset_dir / r.path) for r in rows[start : start + BATCH]]
        batch = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_AREA) for c in crops])
        outputs = session.run(features, {name: batch.astype(np.float32)})
        out.append(np.concatenate([o.reshape(len(crops), -1) for o in outputs], axis=1))
    return np.concatenate(out)


def _require_cleanlab() -> None:
    try:
        import cleanlab  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise UserError("data audit needs cleanlab and scikit-learn: pip install 'maskwatch[audit]'") from None


def out_of_fold_probs(
    features: np.ndarray, labels: np.ndarray, groups: list[str], folds: int = FOLDS, seed: int = 0
) -> np.ndarray:
    """(N, len(CLASSES)) probabilities of each crop from a logistic regression that did not see it (nor its
    near-duplicate group) in training: StratifiedGroupKFold over the groups."""
    _require_cleanlab()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    present = np.bincount(labels, minlength=len(CLASSES))
    folds = int(min(folds, present[present > 0].min()))
    if folds < 2:
        raise UserError("every label needs at least 2 crops for cross-validation")
    probs = np.zeros((len(labels), len(CLASSES)))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held in splitter.split(features, labels, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
        model.fit(features[train], labels[train])
        probs[np.ix_(held, model.classes_)] = model.predict_proba(features[held])
    return probs


def rank_label_issues(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Indices of the likely label errors (cleanlab.filter.find_label_issues), the least self-confident first."""
    from cleanlab.filter import find_label_issues

    return np.asarray(find_label_issues(labels, probs, return_indices_ranked_by="self_confidence"), np.int64)


def pick_rows(rows: list[ManifestRow], limit: int | None, seed: int = 0) -> list[ManifestRow]:
    """All rows, or `limit` of them drawn at random (same seed, same rows), in manifest order."""
    if limit is None or limit >= len(rows):
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
    return [rows[k] for k in keep]


def audit_dataset(
    dataset_dir: Path,
    split: str | None = None,
    limit: int | None = None,
    model_path: Path | None = None,
    folds: int = FOLDS,
    seed: int = 0,
) -> AuditResult:
    """The likely label errors among DIR's crops (of `split` when given; `limit` crops drawn at random)."""
    dataset_dir = Path(dataset_dir)
    rows = pick_rows(read_manifest(dataset_dir, columns=(*MANIFEST_COLUMNS[:5],), split=split), limit, seed)
    if len(rows) < 2 * len(CLASSES):
        raise UserError(f"{dataset_dir}: too few crops to audit ({len(rows)})")
    labels = np.array([CLASSES.index(r.label) for r in rows])
    probs = out_of_fold_probs(
        crop_features(dataset_dir, rows, model_path), labels, [r.group for r in rows], folds, seed
    )
    issues = rank_label_issues(labels, probs)
    suspects = [
        Suspect(rank, rows[k], rows[k].label, CLASSES[int(probs[k].argmax())], float(probs[k, labels[k]]), probs[k])
        for rank, k in enumerate(issues)
    ]
    flips: dict[str, dict[str, int]] = {}
    for s in suspects:
        flips.setdefault(s.given, {}).setdefault(s.suggested, 0)
        flips[s.given][s.suggested] += 1
    per_source: dict[str, dict[str, int]] = {}
    for r in rows:
        per_source.setdefault(r.source, {"crops": 0, "suspects": 0})["crops"] += 1
    for s in suspects:
        per_source[s.row.source]["suspects"] += 1
    return AuditResult(len(rows), suspects, float((probs.argmax(1) == labels).mean()), flips, per_source)


SUSPECT_COLUMNS = ("rank", "crop", "source", "split", "image", "box", "given", "suggested", "quality", *CLASSES)


def write_suspects(result: AuditResult, path: Path) -> Path:
    """Every suspect, the least self-confident first, with its out-of-fold probabilities."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SUSPECT_COLUMNS)
        for s in result.suspects:
            r = s.row
            writer.writerow(
                [s.rank, r.path, r.source, r.split, r.image, r.box, s.given, s.suggested, f"{s.quality:.4f}"]
                + [f"{p:.4f}" for p in s.probs]
            )
    return path


def write_overrides_draft(result: AuditResult, path: Path, top: int) -> Path:
    """The top suspects as an overrides file (image, box, label = the suggested one) for a person to review:
    keep the rows they agree with, change a label or write `drop`, delete the rest."""
    from maskwatch.data.overrides import OVERRIDE_COLUMNS

    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*OVERRIDE_COLUMNS, "given", "quality", "crop"])
        for s in result.suspects[:top]:
            writer.writerow([s.row.image, s.row.box, s.suggested, s.given, f"{s.quality:.4f}", s.row.path])
    return path


def contact_sheet(result: AuditResult, dataset_dir: Path, path: Path, top: int = SHEET_TILES) -> Path:
    """The top suspects' crops, each captioned '#rank given>suggested q', 8 a row (OpenCV, PNG)."""
    import cv2

    from maskwatch.core.media import read_image

    tile, columns = 128, 8
    tiles = []
    for s in result.suspects[:top]:
        crop = cv2.resize(read_image(Path(dataset_dir) / s.row.path), (tile, tile), interpolation=cv2.INTER_CUBIC)
        band = np.full((34, tile, 3), 255, np.uint8)
        cv2.putText(band, f"#{s.rank} q{s.quality:.2f}", (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        cv2.putText(band, f"{s.given}>{s.suggested}", (3, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 200), 1)
        tiles.append(np.vstack([band, crop]))
    if not tiles:
        raise UserError("no suspects to draw")
    tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet)
    return path
