"""A seed ensemble: members trained alike from seeds seed, seed+1, ... and shipped as one ONNX graph that averages
their probabilities (ExportModel with several networks).

On the validation photos three averaged seeds scored above every member on the street photos and as the members
do on average on the web photos, and the shipped model stops being one draw of the seed (MODEL_CARD.md), for 0.17 ms
per face and member. The service, the CLI and the API see one classifier file as before.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import read_manifest
from maskwatch.train.dataset import limit_rows, load_split
from maskwatch.train.epoch import predict_probs
from maskwatch.train.metrics import classification_report, per_source_accuracy
from maskwatch.train.model import build_network
from maskwatch.train.train import TrainConfig, train


def member_dir(out: Path, seed: int) -> Path:
    return out / f"member-{seed}"


def train_members(cfg: TrainConfig, members: int, log: Callable[[str], None] = print) -> Path:
    """One run (members 1: OUT/model.onnx as `train` writes it) or an ensemble of `members`; the model.onnx path."""
    if members < 1:
        raise UserError(f"--members must be at least 1 (got {members})")
    if members == 1:
        return train(cfg, log).run_dir / "model.onnx"
    return train_ensemble(cfg, members, log)


def train_ensemble(cfg: TrainConfig, members: int, log: Callable[[str], None] = print) -> Path:
    """Train `members` runs into OUT/member-<seed>/ (each a whole run folder), then write OUT/model.onnx."""
    if members < 2:
        raise UserError(f"an ensemble needs at least 2 members (got {members})")
    out = Path(cfg.out)
    runs = []
    for seed in range(cfg.seed, cfg.seed + members):
        log(f"member {seed - cfg.seed + 1}/{members}: seed {seed}")
        runs.append(train(replace(cfg, seed=seed, out=str(member_dir(out, seed))), log).run_dir)
    return combine_members(runs, out, log)


def _load_member(run_dir: Path) -> tuple[torch.nn.Module, dict]:
    checkpoint = torch.load(run_dir / "best.pt", weights_only=False, map_location="cpu")
    network = checkpoint["config"].get("network", "detector-backbone")  # runs from before --network: MaskNet
    net = build_network(network, len(CLASSES), pretrained=False)  # the checkpoint holds every weight
    net.load_state_dict(checkpoint["state_dict"])
    return net.eval(), checkpoint["config"]


def _check_alike(run_dirs: Sequence[Path], configs: Sequence[dict]) -> None:
    for key in ("manifest_sha256", "input_size", "classes", "crop_margin"):
        values = {json.dumps(c[key]) for c in configs}
        if len(values) > 1:
            runs = ", ".join(str(d) for d in run_dirs)
            raise UserError(f"ensemble members differ in {key} ({runs}): train them on one dataset alike")


def combine_members(run_dirs: Sequence[Path], out: Path, log: Callable[[str], None] = print) -> Path:
    """OUT/model.onnx averaging the members' best epochs, its parity check, OUT/model_light.onnx (the first
    member alone, for the fast mode) and OUT/val_report.json with every member's val figures beside the ensemble's."""
    from maskwatch.train.export import export_checked, export_onnx

    start = time.time()
    loaded = [_load_member(d) for d in run_dirs]
    nets, configs = [n for n, _ in loaded], [c for _, c in loaded]
    _check_alike(run_dirs, configs)
    first = configs[0]
    rows = read_manifest(Path(first["dataset_dir"]))
    if first["limit"]:
        rows = limit_rows(rows, first["limit"], first["seed"])
    val_set = load_split(Path(first["dataset_dir"]), rows, "val", first["input_size"], first["threads"])

    out.mkdir(parents=True, exist_ok=True)
    metadata = {"train_manifest_sha256": first["manifest_sha256"], "members": ",".join(str(c["seed"]) for c in configs)}
    flip = bool(first.get("flip_average", False))  # runs from before --flip-average have none
    model_path, parity = export_checked(nets, out, first["input_size"], val_set.images, metadata, flip_average=flip)
    # The fast mode's stand-in (classify.classifier.light_model), tied to this file by its hash.
    light = {"train_manifest_sha256": first["manifest_sha256"], "members": str(configs[0]["seed"])}
    light["light_for"] = hashlib.sha256(model_path.read_bytes()).hexdigest()
    export_onnx(nets[:1], out / "model_light.onnx", first["input_size"], metadata=light)

    member_probs = [predict_probs(net, val_set.images, flip_average=flip) for net in nets]
    preds = np.mean(member_probs, axis=0).argmax(1)
    report = {
        "members": {
            str(d): classification_report(val_set.labels, p.argmax(1))
            for d, p in zip(run_dirs, member_probs, strict=True)
        },
        "val": classification_report(val_set.labels, preds),
        "per_source": per_source_accuracy(val_set.labels, preds, val_set.sources),
    }
    (out / "val_report.json").write_text(json.dumps(report, indent=1))
    log(
        f"ensemble of {len(nets)}: val acc {report['val']['accuracy']:.4f} macro-F1 {report['val']['macro_f1']:.4f}; "
        f"parity max abs diff {parity['max_abs_diff']:.2e}; {time.time() - start:.0f}s; wrote {model_path}"
    )
    return model_path
