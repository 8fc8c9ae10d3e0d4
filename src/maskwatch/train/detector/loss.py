"""Anchor matching and the MultiBox loss of biubug6/Pytorch_Retinaface, with ignore regions and landmarks
distilled from a teacher (the annotations have none).

Matching: every anchor whose IoU with a face is >= 0.35 is a positive of its best face, and each face also gets
its own best anchor (faces whose best anchor overlaps under 0.2 are left out, as in biubug6). Anchors near an
ignored face (cut by the window, or too small) and anchors away from every annotated face (IoU < 0.1) that the
teacher scores as a face are neither positive nor negative: unannotated faces are not taught as background, while
off-centre anchors around an annotated face still learn to stay quiet. The rest are
negatives, of which the hardest 7 per positive count (hard negative mining).
Loss = 2 * smooth-L1(box offsets) + cross-entropy(face / background) + w * smooth-L1(landmarks, teacher's), each
summed over the positives (and mined negatives) and divided by the number of positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

VARIANCES = (0.1, 0.2)


@dataclass
class LossConfig:
    pos_iou: float = 0.35
    min_best_iou: float = 0.2
    ignore_iou: float = 0.1
    teacher_ignore_score: float = 0.5  # unmatched anchors the teacher scores at least this are ignored (1: off)
    negatives_per_positive: int = 7
    box_weight: float = 2.0
    landmark_weight: float = 1.0


def xyxy(priors: torch.Tensor) -> torch.Tensor:
    return torch.cat([priors[:, :2] - priors[:, 2:] / 2, priors[:, :2] + priors[:, 2:] / 2], 1)


def iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    tl = torch.maximum(a[:, None, :2], b[None, :, :2])
    br = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (br - tl).clamp(min=0).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-12)


def encode(boxes: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """SSD offsets of xyxy boxes against (cx, cy, w, h) priors (the inverse of detect.anchors.decode_boxes)."""
    centre = ((boxes[:, :2] + boxes[:, 2:]) / 2 - priors[:, :2]) / (VARIANCES[0] * priors[:, 2:])
    size = torch.log(((boxes[:, 2:] - boxes[:, :2]) / priors[:, 2:]).clamp(min=1e-6)) / VARIANCES[1]
    return torch.cat([centre, size], 1)


def match(
    targets: torch.Tensor, ignore: torch.Tensor, priors: torch.Tensor, cfg: LossConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(state per anchor: 1 positive, 0 negative, -1 ignored; box offsets of the matched face; the anchor's best IoU
    with any face). Boxes relative."""
    n = len(priors)
    anchors = xyxy(priors)
    state = torch.zeros(n, dtype=torch.long)
    offsets = torch.zeros(n, 4)
    nearest = torch.zeros(n)
    if len(ignore):
        overlap = iou(ignore, anchors).max(0).values >= cfg.ignore_iou
        centres = priors[:, None, :2]
        inside = ((centres >= ignore[None, :, :2]) & (centres <= ignore[None, :, 2:])).all(2).any(1)
        state[overlap | inside] = -1
    if len(targets):
        overlaps = iou(targets, anchors)  # faces x anchors
        best_anchor_iou, best_anchor = overlaps.max(1)
        valid = best_anchor_iou >= cfg.min_best_iou
        best_face_iou, best_face = overlaps.max(0)
        nearest = best_face_iou.clone()
        forced = best_anchor[valid]
        best_face_iou[forced] = 2.0
        best_face[forced] = torch.arange(len(targets))[valid]
        positive = best_face_iou >= cfg.pos_iou
        state[positive] = 1
        offsets[positive] = encode(targets[best_face[positive]], priors[positive])
        state[(best_face_iou >= cfg.ignore_iou) & ~positive & ~valid[best_face]] = -1  # near a face no anchor fits
    return state, offsets, nearest


def multibox_loss(
    loc: torch.Tensor,
    logits: torch.Tensor,
    landmarks: torch.Tensor,
    state: torch.Tensor,
    offsets: torch.Tensor,
    teacher_landmarks: torch.Tensor,
    cfg: LossConfig,
) -> dict[str, torch.Tensor]:
    """Batch loss from per-anchor states [B, A] and targets [B, A, 4]; teacher landmarks [B, A, 10]."""
    pos = state == 1
    n_pos = pos.sum().clamp(min=1).float()
    box = F.smooth_l1_loss(loc[pos], offsets[pos], reduction="sum") / n_pos
    marks = F.smooth_l1_loss(landmarks[pos], teacher_landmarks[pos], reduction="sum") / n_pos
    ce = F.cross_entropy(logits.reshape(-1, 2), pos.reshape(-1).long(), reduction="none").reshape(state.shape)
    with torch.no_grad():
        mining = ce.detach().clone()
        mining[state != 0] = -1.0
        rank = mining.argsort(1, descending=True).argsort(1)
        n_neg = (cfg.negatives_per_positive * pos.sum(1, keepdim=True)).clamp(max=state.shape[1] - 1)
        negative = (rank < n_neg) & (state == 0)
    cls = (ce[pos].sum() + ce[negative].sum()) / n_pos
    total = cfg.box_weight * box + cls + cfg.landmark_weight * marks
    return {
        "loss": total,
        "box": box.detach(),
        "cls": cls.detach(),
        "landmarks": marks.detach(),
        "positives": pos.sum().detach(),
    }
