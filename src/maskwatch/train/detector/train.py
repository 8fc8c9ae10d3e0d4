"""Fine-tuning RetinaFace on the face boxes of VOC photos (PyTorch, CPU), with the shipped detector as teacher.

The student starts from the shipped detector's weights (with ReLU in place of LeakyReLU for the quantisation-
friendly variant); the frozen original is the teacher that supplies landmarks and marks unannotated faces (loss.py).
Targets keep the shipped detector's box convention: each source's annotated boxes are moved back by the inverse of
that source's median offset between the teacher's boxes and the annotated ones on the train photos, so the shipped
box calibration and the classifier (trained on crops cut from the teacher's boxes) stay valid.
Run folder: config.json, target_calibration.json, metrics.jsonl, last.pt, best.pt (best tune face AP), model.onnx,
parity.json.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from maskwatch.core.errors import UserError
from maskwatch.core.media import read_image
from maskwatch.detect.anchors import prior_boxes
from maskwatch.detect.calibration import BoxCalibration, fit_calibration, matched_pairs
from maskwatch.detect.retinaface import BGR_MEAN, DEFAULT_MODEL, MIN_SIZES, STEPS, RetinaFaceDetector
from maskwatch.evaluate.detector import score_detections
from maskwatch.evaluate.metrics import FACE, ImageAnnotation, ImagePredictions
from maskwatch.train.detector.data import AugmentConfig, Photo, load_photos, make_sample, uncalibrate
from maskwatch.train.detector.export import TorchRetinaFace, export_onnx, parity_check
from maskwatch.train.detector.loss import LossConfig, match, multibox_loss
from maskwatch.train.detector.model import ACTIVATIONS, RetinaFaceNet, pretrained

PORTRAIT_PX = 320  # photos up to this long side are scored at twice their size (evaluate_tune)

Log = Callable[[str], None]
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # input, anchor state, box offsets, best IoU


@dataclass
class DetectorTrainConfig:
    folders: list[str]
    manifest: str
    out: str
    activation: str = "leaky"
    epochs: int = 12
    seed: int = 0
    lr: float = 5e-5  # 3e-4 diverged within 120 steps in a trial (AdamW on convs with BN folded in)
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    clip_grad: float = 20.0  # largest gradient norm (logged per epoch as grad_norm, before clipping)
    # (window side, batch size, share of batches): mostly small windows, some large ones for large faces
    sizes: tuple[tuple[int, int, float], ...] = ((384, 24, 0.75), (640, 8, 0.25))
    # times each photo of a source is drawn per epoch (fractions: a random part, drawn anew each epoch)
    source_repeat: dict[str, float] = field(default_factory=lambda: {"andrewmvd": 2.0, "maskedfacenet": 0.35})
    tune_share: float = 0.1
    select_sources: tuple[str, ...] = ("andrewmvd", "jolignier")  # the best epoch: mean tune face AP of these
    eval_every: int = 2
    eval_size: int = 1024
    threads: int = 2
    limit: int | None = None  # photos per source (smoke tests)
    max_steps: int | None = None  # steps per epoch (smoke tests)
    progress: bool = True
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def _seed(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def target_offsets(photos: list[Photo], per_source: int = 300, seed: int = 0) -> dict[str, list[float]]:
    """Per source, the median offsets from the shipped detector's boxes to the annotated ones (score >= 0.5, pairs
    at IoU >= 0.3, as `maskwatch calibrate-boxes`), on up to per_source train photos. The detector runs at 1024 px
    as calibrate-boxes does, or at twice a smaller photo's size (portraits of 256 px would otherwise be blown up 4x
    into faces larger than its largest anchors)."""
    detectors: dict[int, RetinaFaceDetector] = {}
    offsets: dict[str, list[float]] = {}
    for source in sorted({p.source for p in photos}):
        chosen = [p for p in photos if p.source == source]
        chosen = random.Random(seed).sample(chosen, min(per_source, len(chosen)))
        det, ann = [], []
        for photo in chosen:
            image = read_image(Path(photo.path))
            size = min(1024, 2 * max(image.shape[:2]))
            detector = detectors.setdefault(size, RetinaFaceDetector(DEFAULT_MODEL, input_size=size, min_score=0.5))
            d, a = matched_pairs(detector.detect(image).xyxy, photo.annotated)
            det.append(d)
            ann.append(a)
        det_boxes, ann_boxes = np.concatenate(det), np.concatenate(ann)
        too_few = len(det_boxes) < 20
        offsets[source] = [0.0] * 4 if too_few else [round(v, 4) for v in fit_calibration(det_boxes, ann_boxes).offsets]
    return offsets


def epoch_plan(photos: list[Photo], cfg: DetectorTrainConfig, epoch: int) -> list[tuple[int, list[int]]]:
    """(window side, photo indices) per batch of one epoch, drawn from (seed, epoch) alone so a resumed run
    replays the same epochs."""
    rng = np.random.default_rng([cfg.seed, epoch])
    order = []
    for i, photo in enumerate(photos):
        repeat = cfg.source_repeat.get(photo.source, 1.0)
        order += [i] * (int(repeat) + int(rng.random() < repeat - int(repeat)))
    order = list(rng.permutation(order))
    shares = np.array([s[2] for s in cfg.sizes], np.float64)
    batches, start = [], 0
    while start < len(order):
        size, batch, _ = cfg.sizes[int(rng.choice(len(cfg.sizes), p=shares / shares.sum()))]
        batches.append((size, order[start : start + batch]))
        start += batch
    return batches[: cfg.max_steps] if cfg.max_steps else batches


def make_batch(
    photos: list[Photo], indices: list[int], size: int, rng: np.random.Generator, cfg: DetectorTrainConfig
) -> Batch:
    """Network input [B, 3, S, S] and per-anchor (state, box offsets) for one batch."""
    priors = torch.from_numpy(prior_boxes(size, size, STEPS, MIN_SIZES).copy())
    images, states, offsets, nearest = [], [], [], []
    for i in indices:
        sample = make_sample(read_image(Path(photos[i].path)), photos[i].boxes, size, rng, cfg.augment)
        images.append(sample.image)
        state, target, near = match(
            torch.from_numpy(sample.boxes) / size, torch.from_numpy(sample.ignore) / size, priors, cfg.loss
        )
        states.append(state)
        offsets.append(target)
        nearest.append(near)
    # channels-last: the layout oneDNN's convolutions run fastest in on the CPU (about 2x for the forward pass)
    x = torch.from_numpy(np.stack(images).astype(np.float32) - BGR_MEAN).permute(0, 3, 1, 2)
    return (
        x.contiguous(memory_format=torch.channels_last),
        torch.stack(states),
        torch.stack(offsets),
        torch.stack(nearest),
    )


def train_step(
    student: RetinaFaceNet, teacher: RetinaFaceNet, opt: torch.optim.Optimizer, batch: Batch, cfg: DetectorTrainConfig
) -> dict[str, float]:
    x, state, offsets, nearest = batch
    with torch.no_grad():
        _, teacher_logits, teacher_marks = teacher(x)
        teacher_face = torch.softmax(teacher_logits, -1)[..., 1]
    state = state.clone()
    state[(state == 0) & (teacher_face >= cfg.loss.teacher_ignore_score) & (nearest < cfg.loss.ignore_iou)] = -1
    loc, logits, marks = student(x)
    parts = multibox_loss(loc, logits, marks, state, offsets, teacher_marks, cfg.loss)
    opt.zero_grad(set_to_none=True)
    parts["loss"].backward()
    parts["grad_norm"] = torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.clip_grad)
    opt.step()
    return {k: float(v.detach()) for k, v in parts.items()}


def evaluate_tune(net: RetinaFaceNet, photos: list[Photo], size: int) -> dict[str, dict[str, float]]:
    """Face AP and faces found at score >= 0.3 per source on the tune photos, boxes through the shipped calibration.
    Photos are scaled to `size` as the pipeline scales them, small portraits (MaskedFace-Net's 256 px) to twice their
    size: blown up 4x their faces would outgrow the largest anchors, which no training window shows."""
    detector = TorchRetinaFace(net, input_size=size, min_score=0.02)
    calibration = BoxCalibration.load()
    out: dict[str, dict[str, float]] = {}
    for source in sorted({p.source for p in photos}):
        chosen = [p for p in photos if p.source == source]
        annotations: list[ImageAnnotation] = []
        preds: dict[str, ImagePredictions] = {}
        for k, p in enumerate(chosen):
            name = f"{k}-{Path(p.path).name}"
            small = np.zeros(0, bool)  # faces under 10 px: neither found nor missed
            if len(p.annotated):
                small = np.min(p.annotated[:, 2:] - p.annotated[:, :2], axis=1) < 10
            annotations.append(ImageAnnotation(name, p.annotated, p.labels, small, p.path))
            image = read_image(Path(p.path))
            detector.input_size = size if max(image.shape[:2]) > PORTRAIT_PX else 2 * max(image.shape[:2])
            dets = detector.detect(image)
            boxes = calibration.apply(dets.xyxy, image.shape) if len(dets) else dets.xyxy
            preds[name] = ImagePredictions(boxes, [FACE] * len(dets), dets.det_scores)
        score = score_detections(annotations, preds)
        out[source] = {
            "face_ap": round(score.face_ap, 4),
            **{f"recall_{g}": round(score.recall(g), 4) for g in ("mask", "unmasked")},
            "false_per_image": round(score.false_detections / max(len(chosen), 1), 3),
        }
    return out


def _schedule(cfg: DetectorTrainConfig, steps_total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, steps_total - cfg.warmup_steps))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _setup(cfg: DetectorTrainConfig, log: Log) -> tuple[list[Photo], list[Photo], dict[str, list[float]]]:
    if cfg.activation not in ACTIVATIONS:
        raise UserError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {cfg.activation!r}")
    if cfg.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {cfg.epochs}")
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    train, tune = load_photos([Path(f) for f in cfg.folders], Path(cfg.manifest), cfg.tune_share)
    if cfg.limit:
        train = [p for s in sorted({p.source for p in train}) for p in [q for q in train if q.source == s][: cfg.limit]]
        tune = [
            p
            for s in sorted({p.source for p in tune})
            for p in [q for q in tune if q.source == s][: max(2, cfg.limit // 4)]
        ]
    if not train:
        raise UserError("no training photos: the manifest lists none of these folders' images under train")
    cal_path = run_dir / "target_calibration.json"
    offsets: dict[str, list[float]] = (
        json.loads(cal_path.read_text()) if cal_path.is_file() else target_offsets(train, seed=cfg.seed)
    )
    cal_path.write_text(json.dumps(offsets, indent=1))
    for p in train + tune:
        p.boxes = uncalibrate(p.annotated, offsets.get(p.source, (0.0, 0.0, 0.0, 0.0))) if len(p.annotated) else p.boxes
    counts = {
        s: [sum(p.source == s for p in train), sum(p.source == s for p in tune)]
        for s in sorted({p.source for p in train})
    }
    log(f"photos (train, tune) per source {counts}; target offsets per source {offsets}")
    return train, tune, offsets


def train_detector(cfg: DetectorTrainConfig, log: Log = print, resume: bool = False) -> Path:
    """Fine-tune, checkpoint, export the tune-best model to RUN/model.onnx and check its parity; returns the run."""
    start = time.time()
    _seed(cfg.seed, cfg.threads)
    run_dir = Path(cfg.out)
    train, tune, offsets = _setup(cfg, log)
    (run_dir / "config.json").write_text(
        json.dumps({**asdict(cfg), "torch": torch.__version__, "n_train": len(train), "n_tune": len(tune)}, indent=1)
    )
    student = pretrained(cfg.activation).to(memory_format=torch.channels_last)
    teacher = pretrained("leaky").eval().to(memory_format=torch.channels_last)
    for p in teacher.parameters():
        p.requires_grad_(False)
    decay = [p for p in student.parameters() if p.ndim > 1]
    no_decay = [p for p in student.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
    )
    steps_total = sum(len(epoch_plan(train, cfg, e)) for e in range(1, cfg.epochs + 1))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(cfg, steps_total))
    first = 1
    best: dict[str, float] = {"score": -1.0, "epoch": 0}  # "epoch" an int, as the checkpoints keep it
    if resume and (run_dir / "last.pt").is_file():
        state = torch.load(run_dir / "last.pt", weights_only=False)
        student.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        first, best = state["epoch"] + 1, state["best"]
        log(f"resumed after epoch {state['epoch']}")
    elif (run_dir / "metrics.jsonl").is_file():
        (run_dir / "metrics.jsonl").unlink()
    if first == 1:
        line = {"epoch": 0, "tune": evaluate_tune(student, tune, cfg.eval_size)}
        log(f"epoch 0 (start): tune {line['tune']}")
        with (run_dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    for epoch in range(first, cfg.epochs + 1):
        best = _run_epoch(student, teacher, opt, sched, train, tune, cfg, epoch, best, log)
    student.load_state_dict(torch.load(run_dir / "best.pt", weights_only=False)["model"])
    return _finish(student, tune, cfg, offsets, best, time.time() - start, log)


def _tune_and_keep_best(
    student: RetinaFaceNet, tune: list[Photo], cfg: DetectorTrainConfig, epoch: int, best: dict[str, float]
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """The epoch's tune scores and the best epoch so far, saving RUN/best.pt where this epoch is the new best."""
    tune_scores = evaluate_tune(student, tune, cfg.eval_size)
    # the mean face AP of the selection sources (all where none of them is there); no tune photos: the last epoch
    chosen = [v["face_ap"] for k, v in tune_scores.items() if k in cfg.select_sources] or [
        v["face_ap"] for v in tune_scores.values()
    ]
    score = float(np.mean(chosen)) if chosen else float(epoch)
    if score > best["score"]:
        best = {"score": score, "epoch": epoch}
        torch.save(
            {"model": student.state_dict(), "epoch": epoch, "activation": cfg.activation}, Path(cfg.out) / "best.pt"
        )
    return tune_scores, best


def _run_epoch(
    student: RetinaFaceNet,
    teacher: RetinaFaceNet,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    train: list[Photo],
    tune: list[Photo],
    cfg: DetectorTrainConfig,
    epoch: int,
    best: dict[str, float],
    log: Log,
) -> dict[str, float]:
    t0 = time.time()
    rng = np.random.default_rng([cfg.seed, epoch, 1])
    plan = epoch_plan(train, cfg, epoch)
    student.train()
    sums: dict[str, float] = {}
    for step, (size, indices) in enumerate(plan, 1):
        parts = train_step(student, teacher, opt, make_batch(train, indices, size, rng, cfg), cfg)
        sched.step()
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        if cfg.progress and step % 10 == 0:
            log(f"  epoch {epoch} step {step}/{len(plan)} loss {sums['loss'] / step:.3f} ({time.time() - t0:.0f}s)")
    line = {
        "epoch": epoch,
        **{k: round(v / len(plan), 4) for k, v in sums.items()},
        "steps": len(plan),
        "lr": opt.param_groups[0]["lr"],
        "train_s": round(time.time() - t0, 1),
    }
    run_dir = Path(cfg.out)
    if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
        line["tune"], best = _tune_and_keep_best(student, tune, cfg, epoch, best)
    line["epoch_s"] = round(time.time() - t0, 1)
    with (run_dir / "metrics.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")
    torch.save(
        {
            "model": student.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": epoch,
            "best": best,
        },
        run_dir / "last.pt",
    )
    log(
        f"epoch {epoch}: loss {line['loss']:.3f} (box {line['box']:.3f} cls {line['cls']:.3f} landmarks "
        f"{line['landmarks']:.3f}) {line['epoch_s']}s" + (f"; tune {line['tune']}" if "tune" in line else "")
    )
    return best


def _finish(
    net: RetinaFaceNet,
    tune: list[Photo],
    cfg: DetectorTrainConfig,
    offsets: dict[str, list[float]],
    best: dict[str, float],
    wall: float,
    log: Log,
) -> Path:
    run_dir = Path(cfg.out)
    net = net.eval().to(memory_format=torch.contiguous_format)
    meta = {
        "trained_by": "maskwatch train-detector",
        "best_epoch": best["epoch"],
        "seed": cfg.seed,
        "sources": ",".join(sorted({Path(f).name for f in cfg.folders})),
    }
    path = export_onnx(net, run_dir / "model.onnx", meta)
    images = [read_image(Path(p.path)) for p in tune[:: max(1, len(tune) // 8)][:8]]
    parity = parity_check(net, path, images)
    (run_dir / "parity.json").write_text(json.dumps(parity, indent=1))
    if not parity["ok"]:
        raise UserError(f"ONNX parity check failed: {parity}")
    log(
        f"best tune epoch {best['epoch']} (mean face AP {best['score']:.4f}); parity max abs diff "
        f"{parity['max_abs_diff']:.1e}; {wall:.0f}s; wrote {path}"
    )
    return run_dir
