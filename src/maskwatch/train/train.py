"""Training loop: class-weighted cross-entropy, AdamW + OneCycle, early stopping on val macro-F1, run folder."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from maskwatch.classify.crop import CROP_MARGIN
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import read_manifest
from maskwatch.train.augment import AugmentConfig
from maskwatch.train.cases import resolve_repeats
from maskwatch.train.dataset import CropSet, check_splits, limit_rows, load_split
from maskwatch.train.epoch import epoch_indices, evaluate, predict_probs, train_one_epoch
from maskwatch.train.metrics import classification_report, per_source_accuracy
from maskwatch.train.model import NETWORKS, build_network, count_params

if TYPE_CHECKING:
    from torch.optim.swa_utils import AveragedModel


@dataclass
class TrainConfig:
    dataset_dir: str
    out: str
    epochs: int = 20
    seed: int = 0
    input_size: int = 112  # the crop size itself: no resize; 64 and 96 px scored lower on the real-photo crops
    limit: int | None = None
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    patience: int = 8  # epochs without a better val macro-F1 before stopping
    # Loss weight per class = (n_max / n_class) ** power. Measured at 0, 0.5 and 1 (docs in MODEL_CARD.md): plain
    # cross-entropy (0) scored best on every val metric, `incorrect` F1 included, so weighting is off by default.
    # Balanced sampling was not used: it would replay the few (largely synthetic) `incorrect` faces ~8x per epoch.
    class_weight_power: float = 0.0
    # Sources whose crops appear this many times per epoch, e.g. {"jolignier": 2}: real photos are a minority of
    # the crops but are what the service sees.
    source_repeat: dict[str, int] = field(default_factory=dict)
    cases_repeat: int = 1  # crops of cases exports (train.cases) this many times per epoch
    threads: int = 2
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    progress: bool = True
    device: str = "cpu"  # "cuda" for quick architecture sweeps; the shipped model is trained on CPU
    # Exponential moving average of the weights, updated every step; 0 turns it off. When on, the averaged network
    # is the one evaluated each epoch, checkpointed and exported.
    ema_decay: float = 0.0
    # train.model.NETWORKS: "detector-backbone" (MaskNet) or "mobilenet-v2" (ImageNet weights, `make weights`)
    network: str = "detector-backbone"
    # A classifier file this run stands in for in the fast mode (classify.classifier.LIGHT_MODEL): its SHA-256 goes
    # into model.onnx's metadata as `light_for`.
    light_for: str | None = None
    # Export model.onnx to classify each crop also mirrored and average the two (ExportModel.flip_average), for
    # 2-2.5 times the time a face; for the shipped MobileNetV2 it raised `incorrect` AP on every val photo set but
    # not the videos' mAP (MODEL_CARD.md). Training and early stopping are unchanged; val_report.json scores the
    # export.
    flip_average: bool = False


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    best_val: dict
    epochs_run: int
    wall_s: float
    parity: dict


def seed_everything(seed: int, threads: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)  # a fixed thread count keeps float reductions in the same order
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def class_weights(counts: np.ndarray, power: float) -> torch.Tensor:
    counts = np.maximum(counts, 1).astype(np.float64)
    w = (counts.max() / counts) ** power
    return torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)  # mean weight per sample = 1


def _param_groups(net: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for p in net.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)  # no decay on biases
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass
class _Fit:
    """What the epochs work on."""

    cfg: TrainConfig
    net: torch.nn.Module
    scored: torch.nn.Module  # the network evaluated, checkpointed and exported: net, or its moving average
    ema: AveragedModel | None
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    weights: torch.Tensor
    g: torch.Generator
    g_aug: torch.Generator
    val_set: CropSet
    config: dict
    run_dir: Path


@dataclass
class _Best:
    f1: float = -1.0
    epoch: int = 0
    val: dict = field(default_factory=dict)
    epochs_run: int = 0


def train(cfg: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    _check_config(cfg)
    start = time.time()
    g = seed_everything(cfg.seed, cfg.threads)
    dataset_dir, run_dir = Path(cfg.dataset_dir), Path(cfg.out)
    train_set, val_set = _load_splits(cfg, dataset_dir, start, log)

    run_dir.mkdir(parents=True, exist_ok=True)
    net = build_network(cfg.network, len(CLASSES))
    weights = class_weights(train_set.class_counts(), cfg.class_weight_power)
    g_aug = g if cfg.device == "cpu" else torch.Generator(cfg.device).manual_seed(cfg.seed)
    config = _write_config(cfg, run_dir, net, weights, dataset_dir, len(train_set), len(val_set))
    fit = _prepare_fit(cfg, net, train_set, val_set, weights, (g, g_aug), config, run_dir)
    best = _run_epochs(fit, log)
    return _finish(fit, best, start, log)


def _check_config(cfg: TrainConfig) -> None:
    if cfg.input_size < 32:
        raise UserError(f"--input-size must be at least 32 (got {cfg.input_size})")
    if cfg.epochs < 1:
        raise UserError(f"--epochs must be at least 1 (got {cfg.epochs})")
    if cfg.network not in NETWORKS:
        raise UserError(f"--network must be one of {', '.join(NETWORKS)} (got {cfg.network!r})")
    if cfg.light_for and not Path(cfg.light_for).is_file():
        raise UserError(f"--light-for: {cfg.light_for} not found")
    if not 0 <= cfg.ema_decay < 1:
        raise UserError(f"--ema must be at least 0 and below 1 (got {cfg.ema_decay})")


def _load_splits(
    cfg: TrainConfig, dataset_dir: Path, start: float, log: Callable[[str], None]
) -> tuple[CropSet, CropSet]:
    rows = read_manifest(dataset_dir)
    cfg.source_repeat = resolve_repeats(rows, cfg.source_repeat, cfg.cases_repeat)  # config.json records them
    if cfg.limit:
        rows = limit_rows(rows, cfg.limit, cfg.seed)
    check_splits(dataset_dir, rows)
    train_set = load_split(dataset_dir, rows, "train", cfg.input_size, cfg.threads)
    val_set = load_split(dataset_dir, rows, "val", cfg.input_size, cfg.threads)
    per_class = dict(zip(CLASSES, train_set.class_counts().tolist(), strict=True))
    log(
        f"loaded {len(train_set)} train / {len(val_set)} val crops at {cfg.input_size}px "
        f"in {time.time() - start:.0f}s; train per class {per_class}"
    )
    return train_set, val_set


def _write_config(
    cfg: TrainConfig,
    run_dir: Path,
    net: torch.nn.Module,
    weights: torch.Tensor,
    dataset_dir: Path,
    n_train: int,
    n_val: int,
) -> dict:
    """The run's config.json: the settings, the data's hash and sizes, the class weights and torch's version."""
    manifest_sha256 = hashlib.sha256((dataset_dir / "manifest.csv").read_bytes()).hexdigest()
    config = {
        **asdict(cfg),
        "params": count_params(net),
        "manifest_sha256": manifest_sha256,
        "class_weights": dict(zip(CLASSES, weights.tolist(), strict=True)),
        "classes": list(CLASSES),
        "crop_margin": CROP_MARGIN,
        "n_train": n_train,
        "n_val": n_val,
        "torch": torch.__version__,
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=1))
    return config


def _prepare_fit(
    cfg: TrainConfig,
    net: torch.nn.Module,
    train_set: CropSet,
    val_set: CropSet,
    weights: torch.Tensor,
    generators: tuple[torch.Generator, torch.Generator],
    config: dict,
    run_dir: Path,
) -> _Fit:
    """The network on its device, the train tensors, AdamW with OneCycle, and the weights' moving average."""
    net.to(cfg.device)
    images = torch.from_numpy(train_set.images)
    labels = torch.from_numpy(train_set.labels)
    indices = epoch_indices(train_set.sources, cfg.source_repeat)
    opt = torch.optim.AdamW(_param_groups(net, cfg.weight_decay), lr=cfg.lr)
    steps = cfg.epochs * max(1, len(indices) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15, div_factor=20, final_div_factor=200
    )
    ema = None
    scored = net
    if cfg.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(
            net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True
        )  # BN statistics too
        scored = ema.module  # the average is kept in a copy of net
    g, g_aug = generators
    return _Fit(cfg, net, scored, ema, opt, sched, images, labels, indices, weights, g, g_aug, val_set, config, run_dir)


def _run_epochs(fit: _Fit, log: Callable[[str], None]) -> _Best:
    """Epochs until cfg.epochs or `patience` of them without a better val macro-F1; the best is kept in best.pt."""
    cfg = fit.cfg
    best, stale = _Best(), 0
    metrics_path = fit.run_dir / "metrics.jsonl"
    metrics_path.write_text("")
    for epoch in range(1, cfg.epochs + 1):
        best.epochs_run = epoch
        t0 = time.time()
        stats = train_one_epoch(
            fit.net,
            fit.images,
            fit.labels,
            fit.indices,
            fit.weights.to(cfg.device),
            fit.opt,
            fit.sched,
            cfg,
            fit.g,
            fit.g_aug,
            f"epoch {epoch}/{cfg.epochs}",
            fit.ema,
        )
        val, _ = evaluate(fit.scored, fit.val_set, fit.weights)
        line = _epoch_line(epoch, stats, val, fit.opt.param_groups[0]["lr"], t0)
        with metrics_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        improved = val["macro_f1"] > best.f1
        if improved:
            best.f1, best.epoch, best.val, stale = val["macro_f1"], epoch, val, 0
            checkpoint = {"state_dict": fit.scored.state_dict(), "config": fit.config, "epoch": epoch}
            torch.save(checkpoint, fit.run_dir / "best.pt")
        else:
            stale += 1
        log(
            f"epoch {epoch}: loss {stats['train_loss']:.4f} val acc {val['accuracy']:.4f} "
            f"macro-F1 {val['macro_f1']:.4f} F1 {val['f1']} {line['epoch_s']}s{' *' if improved else ''}"
        )
        if stale >= cfg.patience:
            log(f"early stop: no better val macro-F1 for {cfg.patience} epochs")
            break
    return best


def _epoch_line(epoch: int, stats: dict[str, float], val: dict, lr: float, t0: float) -> dict:
    """One line of metrics.jsonl."""
    return {
        "epoch": epoch,
        **stats,
        **{
            k: val[k]
            for k in (
                "val_loss",
                "accuracy",
                "macro_f1",
                "f1",
                "recall",
                "unmasked_flag_recall",
                "masked_false_flag_rate",
            )
        },
        "lr": lr,
        "epoch_s": round(time.time() - t0, 1),
    }


def _finish(fit: _Fit, best: _Best, start: float, log: Callable[[str], None]) -> TrainResult:
    """The best epoch's weights exported to model.onnx and checked against PyTorch; val_report.json."""
    net, run_dir, val_set = fit.net, fit.run_dir, fit.val_set
    net.load_state_dict(torch.load(run_dir / "best.pt", weights_only=False, map_location=fit.cfg.device)["state_dict"])
    net.to("cpu").eval()
    from maskwatch.train.export import export_checked

    trained_on = {"train_manifest_sha256": fit.config["manifest_sha256"]}  # `models compare` warns on another split
    if fit.cfg.light_for:
        trained_on["light_for"] = hashlib.sha256(Path(fit.cfg.light_for).read_bytes()).hexdigest()
    flip = fit.cfg.flip_average
    _, parity = export_checked([net], run_dir, fit.cfg.input_size, val_set.images, trained_on, flip_average=flip)

    probs = predict_probs(net, val_set.images, flip_average=flip)
    preds = probs.argmax(1)
    wall = time.time() - start
    report = {
        "best_epoch": best.epoch,
        "epochs_run": best.epochs_run,
        "wall_s": round(wall, 1),
        "val": classification_report(val_set.labels, preds),
        "per_source": per_source_accuracy(val_set.labels, preds, val_set.sources),
    }
    (run_dir / "val_report.json").write_text(json.dumps(report, indent=1))
    log(
        f"best epoch {best.epoch}: val acc {best.val['accuracy']:.4f} macro-F1 {best.f1:.4f}; "
        f"parity max abs diff {parity['max_abs_diff']:.2e}; {wall:.0f}s; wrote {run_dir}"
    )
    return TrainResult(run_dir, best.epoch, best.val, best.epochs_run, wall, parity)
