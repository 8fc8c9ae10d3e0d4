"""The retraining noise: the same data and settings trained with several seeds, each model scored on the dataset's
val crops; what moves between seeds is what `models compare` must see exceeded before it calls a model better."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np

from maskwatch.core.errors import UserError

FIGURES = ("accuracy", "macro_f1", "unmasked_recall", "false_alarm_rate", "incorrect_f1")


def score_model(model: Path, dataset: Path) -> dict:
    """The figures `compare` shows, of one model on the dataset's val crops."""
    from maskwatch.classify.classifier import MaskClassifier
    from maskwatch.core.labels import CLASSES
    from maskwatch.evaluate.crops import score_crop_predictions
    from maskwatch.modelops.compare import dataset_crops, predict_crops, summary

    crops = dataset_crops(dataset)
    probs = predict_crops(MaskClassifier(model), crops)
    metrics = score_crop_predictions(crops.labels, crops.sources, probs).to_dict()
    found = summary(metrics, crops.labels, [CLASSES[i] for i in probs.argmax(axis=1)])
    return {k: found[k] for k in FIGURES if k in found} | {"incorrect_f1": found["per_class"]["incorrect"]["f1"]}


def spread_figures(runs: list[dict]) -> dict:
    """Per figure, mean, standard deviation (n - 1), min and max over the runs."""
    out = {}
    for figure in FIGURES:
        values = np.array([r[figure] for r in runs], float)
        out[figure] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return out


def _plain(value: object) -> object:
    """A train option as JSON holds it (the augmentation settings, a dataclass, as a dict)."""
    return asdict(value) if is_dataclass(value) and not isinstance(value, type) else value


def trained_before(run_dir: Path, seed: int, train_options: dict) -> bool:
    """Whether run_dir holds a finished `maskwatch train` run of this seed and these settings (threads and
    progress aside): a spread takes an hour or more, so an interrupted one goes on where it stopped."""
    config_path, model = run_dir / "config.json", run_dir / "model.onnx"
    if not (config_path.is_file() and model.is_file()):
        return False
    config = json.loads(config_path.read_text())
    settings = {k: _plain(v) for k, v in train_options.items() if k not in ("threads", "progress")}
    wanted = json.loads(json.dumps(settings))  # as config.json holds them: tuples as lists
    return config.get("seed") == seed and all(config.get(k) == v for k, v in wanted.items())


def seed_spread(
    dataset: Path,
    out: Path,
    seeds: Sequence[int],
    train_options: dict,
    log: Callable[[str], None] = print,
) -> dict:
    """Trains one model per seed into out/seed<k>/ (maskwatch train, the other settings from train_options), scores
    each on the val crops and writes out/spread.json."""
    from maskwatch.classify.classifier import model_version
    from maskwatch.train.train import TrainConfig, train

    if len(seeds) < 2:
        raise UserError("a spread needs at least two seeds")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"seeds repeat: {list(seeds)}")
    dataset, out = Path(dataset), Path(out)
    runs = []
    for seed in seeds:
        started = time.time()
        run_dir = out / f"seed{seed}"
        if trained_before(run_dir, seed, train_options):
            log(f"seed {seed}: {run_dir} holds a model trained with these settings: scored, not trained again")
        else:
            train(TrainConfig(str(dataset), str(run_dir), seed=seed, **train_options), log=log)
        model = run_dir / "model.onnx"
        runs.append({"seed": seed, "model": str(model), "version": model_version(model), **score_model(model, dataset)})
        runs[-1]["seconds"] = round(time.time() - started, 1)
        log(f"seed {seed}: accuracy {runs[-1]['accuracy']:.4f}, unmasked recall {runs[-1]['unmasked_recall']:.4f}")
    manifest = dataset / "manifest.csv" if dataset.is_dir() else dataset
    result = {
        "dataset": str(dataset),
        "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
        "seeds": list(seeds),
        "train_options": {k: _plain(v) for k, v in train_options.items()},
        "runs": runs,
        **spread_figures(runs),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "spread.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
