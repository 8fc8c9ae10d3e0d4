"""Training loop: class-weighted cross-entropy, AdamW + OneCycle, early stopping on val macro-F1, run folder."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from maskwatch.classify.crop import CROP_MARGIN
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import read_manifest
from maskwatch.train.augment import AugmentConfig, augment_batch
from maskwatch.train.dataset import CropSet, check_splits, limit_rows, load_split
from maskwatch.train.metrics import classification_report, per_source_accuracy
from maskwatch.train.model import MaskNet, Preprocess, count_params


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
    threads: int = 2
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    progress: bool = True
    device: str = "cpu"  # "cuda" for quick architecture sweeps; the shipped model is trained on CPU
    # Exponential moving average of the weights, updated every step; 0 turns it off. When on, the averaged network
    # is the one evaluated each epoch, checkpointed and exported (MaskNet has no batch-norm statistics to refit).
    ema_decay: float = 0.0


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


@torch.no_grad()
def predict_probs(net: MaskNet, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    net.eval()
    device = next(net.parameters()).device
    pre = Preprocess().to(device)
    out = [
        torch.softmax(net(pre(torch.from_numpy(images[i : i + batch_size]).to(device).float())), 1).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(out).numpy()


class _EpochBar:
    """A rich progress bar for one epoch (rich is already a dependency of the CLI); silent when disabled."""

    def __init__(self, total: int, desc: str, enabled: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            disable=not enabled,
            transient=True,
        )
        self.task = self.progress.add_task(desc, total=total, stats="")

    def __enter__(self) -> "_EpochBar":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def advance(self, stats: str) -> None:
        self.progress.update(self.task, advance=1, stats=stats)


def epoch_indices(sources: np.ndarray, repeat: dict[str, int]) -> torch.Tensor:
    """Every train crop once, those of the repeated sources k times."""
    times = np.array([repeat.get(s, 1) for s in sources], np.int64)
    return torch.from_numpy(np.repeat(np.arange(len(sources)), times))


def train_one_epoch(
    net,
    images,
    labels,
    indices,
    weights,
    opt,
    sched,
    cfg: TrainConfig,
    g: torch.Generator,
    g_aug: torch.Generator,
    desc: str,
    ema=None,
) -> dict:
    net.train()
    pre = Preprocess().to(cfg.device)
    order = indices[torch.randperm(len(indices), generator=g)]
    n_batches = max(1, len(order) // cfg.batch_size)  # drop the ragged last batch, as the shipped model was trained
    total_loss, correct, seen = 0.0, 0, 0
    with _EpochBar(n_batches, desc, cfg.progress) as bar:
        for b in range(n_batches):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            x = augment_batch(images[idx].to(cfg.device), cfg.augment, g_aug)
            y = labels[idx].to(cfg.device)
            logits = net(pre(x))
            loss = F.cross_entropy(logits, y, weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(net)
            total_loss += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            bar.advance(f"loss {total_loss / seen:.3f} acc {correct / seen:.3f}")
    return {"train_loss": total_loss / seen, "train_acc": correct / seen}


def evaluate(net: MaskNet, val: CropSet, weights: torch.Tensor) -> tuple[dict, np.ndarray]:
    probs = predict_probs(net, val.images)
    logp = torch.log(torch.from_numpy(probs).clamp_min(1e-12))
    val_loss = float(F.nll_loss(logp, torch.from_numpy(val.labels), weight=weights.cpu()))
    report = classification_report(val.labels, probs.argmax(1))
    return {"val_loss": val_loss, **report}, probs


def _param_groups(net: MaskNet, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for p in net.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)  # no decay on biases
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(cfg: TrainConfig, log=print) -> TrainResult:
    if cfg.input_size < 32:
        raise UserError(f"--input-size must be at least 32 (got {cfg.input_size})")
    if cfg.epochs < 1:
        raise UserError(f"--epochs must be at least 1 (got {cfg.epochs})")
    if not 0 <= cfg.ema_decay < 1:
        raise UserError(f"--ema must be at least 0 and below 1 (got {cfg.ema_decay})")
    start = time.time()
    g = seed_everything(cfg.seed, cfg.threads)
    dataset_dir, run_dir = Path(cfg.dataset_dir), Path(cfg.out)
    rows = read_manifest(dataset_dir)
    if cfg.limit:
        rows = limit_rows(rows, cfg.limit, cfg.seed)
    check_splits(dataset_dir, rows)
    train_set = load_split(dataset_dir, rows, "train", cfg.input_size, cfg.threads)
    val_set = load_split(dataset_dir, rows, "val", cfg.input_size, cfg.threads)
    log(
        f"loaded {len(train_set)} train / {len(val_set)} val crops at {cfg.input_size}px in {time.time() - start:.0f}s; "
        f"train per class {dict(zip(CLASSES, train_set.class_counts().tolist()))}"
    )

    run_dir.mkdir(parents=True, exist_ok=True)
    net = MaskNet(len(CLASSES))
    weights = class_weights(train_set.class_counts(), cfg.class_weight_power)
    g_aug = g if cfg.device == "cpu" else torch.Generator(cfg.device).manual_seed(cfg.seed)
    manifest_sha256 = hashlib.sha256((dataset_dir / "manifest.csv").read_bytes()).hexdigest()
    config = {
        **asdict(cfg),
        "params": count_params(net),
        "manifest_sha256": manifest_sha256,
        "class_weights": dict(zip(CLASSES, weights.tolist())),
        "classes": list(CLASSES),
        "crop_margin": CROP_MARGIN,
        "n_train": len(train_set),
        "n_val": len(val_set),
        "torch": torch.__version__,
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=1))

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
    if cfg.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay))
    scored = net if ema is None else ema.module
    best_f1, best_epoch, best_val, stale = -1.0, 0, {}, 0
    metrics_path = run_dir / "metrics.jsonl"
    metrics_path.write_text("")
    epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.time()
        stats = train_one_epoch(
            net,
            images,
            labels,
            indices,
            weights.to(cfg.device),
            opt,
            sched,
            cfg,
            g,
            g_aug,
            f"epoch {epoch}/{cfg.epochs}",
            ema,
        )
        val, _ = evaluate(scored, val_set, weights)
        line = {
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
            "lr": opt.param_groups[0]["lr"],
            "epoch_s": round(time.time() - t0, 1),
        }
        with metrics_path.open("a") as f:
            f.write(json.dumps(line) + "\n")
        improved = val["macro_f1"] > best_f1
        if improved:
            best_f1, best_epoch, best_val, stale = val["macro_f1"], epoch, val, 0
            torch.save({"state_dict": scored.state_dict(), "config": config, "epoch": epoch}, run_dir / "best.pt")
        else:
            stale += 1
        log(
            f"epoch {epoch}: loss {stats['train_loss']:.4f} val acc {val['accuracy']:.4f} macro-F1 {val['macro_f1']:.4f} "
            f"F1 {val['f1']} {line['epoch_s']}s{' *' if improved else ''}"
        )
        if stale >= cfg.patience:
            log(f"early stop: no better val macro-F1 for {cfg.patience} epochs")
            break

    net.load_state_dict(torch.load(run_dir / "best.pt", weights_only=False, map_location=cfg.device)["state_dict"])
    net.to("cpu").eval()
    from maskwatch.train.export import export_onnx, parity_check

    export_onnx(net, run_dir / "model.onnx", cfg.input_size)
    parity = parity_check(net, run_dir / "model.onnx", val_set.images)
    (run_dir / "parity.json").write_text(json.dumps(parity, indent=1))
    if not parity["ok"]:
        raise UserError(f"ONNX parity check failed: {parity}")

    probs = predict_probs(net, val_set.images)
    preds = probs.argmax(1)
    wall = time.time() - start
    report = {
        "best_epoch": best_epoch,
        "epochs_run": epoch,
        "wall_s": round(wall, 1),
        "val": classification_report(val_set.labels, preds),
        "per_source": per_source_accuracy(val_set.labels, preds, val_set.sources),
    }
    (run_dir / "val_report.json").write_text(json.dumps(report, indent=1))
    log(
        f"best epoch {best_epoch}: val acc {best_val['accuracy']:.4f} macro-F1 {best_f1:.4f}; "
        f"parity max abs diff {parity['max_abs_diff']:.2e}; {wall:.0f}s; wrote {run_dir}"
    )
    return TrainResult(run_dir, best_epoch, best_val, epoch, wall, parity)
