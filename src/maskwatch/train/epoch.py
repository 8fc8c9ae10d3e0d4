"""One training epoch and scoring the network on a split, with a progress bar per epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from maskwatch.train.augment import augment_batch
from maskwatch.train.dataset import CropSet
from maskwatch.train.metrics import classification_report
from maskwatch.train.model import Preprocess

if TYPE_CHECKING:
    from torch.optim.swa_utils import AveragedModel

    from maskwatch.train.train import TrainConfig


@torch.no_grad()
def predict_probs(
    net: torch.nn.Module, images: np.ndarray, batch_size: int = 512, flip_average: bool = False
) -> np.ndarray:
    """Softmax probabilities for uint8 crops [N, S, S, 3]; with `flip_average` averaged with their mirror images'."""
    if flip_average:
        mirrored = np.ascontiguousarray(images[:, :, ::-1])
        return (predict_probs(net, images, batch_size) + predict_probs(net, mirrored, batch_size)) / 2
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

    def __enter__(self) -> _EpochBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def advance(self, stats: str) -> None:
        self.progress.update(self.task, advance=1, stats=stats)


def epoch_indices(sources: np.ndarray, repeat: dict[str, int]) -> torch.Tensor:
    """Every train crop once, those of the repeated sources k times."""
    times = np.array([repeat.get(s, 1) for s in sources], np.int64)
    return torch.from_numpy(np.repeat(np.arange(len(sources)), times))


def train_one_epoch(
    net: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    cfg: TrainConfig,
    g: torch.Generator,
    g_aug: torch.Generator,
    desc: str,
    ema: AveragedModel | None = None,
) -> dict[str, float]:
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


def evaluate(net: torch.nn.Module, val: CropSet, weights: torch.Tensor) -> tuple[dict, np.ndarray]:
    probs = predict_probs(net, val.images)
    logp = torch.log(torch.from_numpy(probs).clamp_min(1e-12))
    val_loss = float(F.nll_loss(logp, torch.from_numpy(val.labels), weight=weights.cpu()))
    report = classification_report(val.labels, probs.argmax(1))
    return {"val_loss": val_loss, **report}, probs
