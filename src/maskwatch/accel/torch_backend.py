"""Detector and classifier as PyTorch modules (converted from our ONNX files), run on whole batches of frames.

Resizing, mean subtraction, decoding, candidate selection and face cropping (one grid_sample for every face
of every frame) all stay on the device; only the few hundred candidate boxes go to the CPU for NMS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from maskwatch.accel.onnx_torch import OnnxModule
from maskwatch.classify.classifier import DEFAULT_MODEL as CLASSIFIER_MODEL
from maskwatch.classify.crop import CROP_SIZE
from maskwatch.detect.anchors import nms, prior_boxes
from maskwatch.detect.calibration import BoxCalibration
from maskwatch.detect.retinaface import BGR_MEAN, DEFAULT_MODEL as DETECTOR_MODEL, MIN_SIZES, STEPS
from maskwatch.pipeline import apply_bias, load_unmasked_bias
from maskwatch.types import Detections


def onnx_to_torch(path: str | Path) -> torch.nn.Module:
    return OnnxModule(path).eval()


class TorchBatchPipeline:
    def __init__(self, device: str = "cuda", input_size: int = 1024, min_score: float = 0.5, nms_iou: float = 0.4,
                 detector_path=DETECTOR_MODEL, classifier_path=CLASSIFIER_MODEL, half: bool = False, crop_margin: float = 0.2):
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        self.detector = onnx_to_torch(detector_path).to(self.device, self.dtype)
        self.classifier = onnx_to_torch(classifier_path).to(self.device, self.dtype)
        meta = {p.key: p.value for p in onnx.load(str(classifier_path), load_external_data=False).metadata_props}
        self.crop_size = int(meta.get("input_size", 64))
        self.crop_margin = float(meta.get("crop_margin", crop_margin))
        self.input_size, self.min_score, self.nms_iou = input_size, min_score, nms_iou
        self.mean = torch.tensor(BGR_MEAN, device=self.device).view(1, 3, 1, 1)
        self.calibration = BoxCalibration.load()
        self.unmasked_bias = load_unmasked_bias()
        self._prior_cache: dict[tuple[int, int], torch.Tensor] = {}

    @torch.inference_mode()
    def analyze_batch(self, frames: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        """BGR uint8 frames → classified detections per frame; frames of one size share one network call."""
        sizes: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            sizes.setdefault(frame.shape[:2], []).append(i)
        out: list[Detections] = [None] * len(frames)  # type: ignore[list-item]
        for indices in sizes.values():
            for i, dets in zip(indices, self._analyze_same_size([frames[i] for i in indices], min_score)):
                out[i] = dets
        return out

    def analyze(self, frame: np.ndarray, min_score: float | None = None) -> Detections:
        return self.analyze_batch([frame], min_score)[0]

    def _analyze_same_size(self, frames: list[np.ndarray], min_score: float | None) -> list[Detections]:
        h, w = frames[0].shape[:2]
        scale = self.input_size / max(h, w)
        nh, nw = round(h * scale), round(w * scale)
        ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
        batch = torch.from_numpy(np.stack(frames)).to(self.device, non_blocking=True)
        images = batch.permute(0, 3, 1, 2).float()  # N, 3, H, W in 0..255 BGR; resized in fp32 (no fp16 antialias kernel)
        x = F.interpolate(images, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1) - self.mean
        x = F.pad(x, (0, pw - nw, 0, ph - nh)).to(self.dtype)
        loc, conf, _ = self.detector(x)
        priors = self._priors(ph, pw)
        scores = conf[..., 1].float()
        keep = scores >= (self.min_score if min_score is None else min_score)
        frame_idx, prior_idx = keep.nonzero(as_tuple=True)
        l, p = loc[frame_idx, prior_idx].float(), priors[prior_idx]
        centre = p[:, :2] + l[:, :2] * 0.1 * p[:, 2:]
        size = p[:, 2:] * torch.exp(l[:, 2:] * 0.2)
        boxes = torch.cat([centre - size / 2, centre + size / 2], 1) * torch.tensor([pw, ph, pw, ph], device=self.device) / scale
        boxes_np, scores_np, frames_np = boxes.cpu().numpy(), scores[frame_idx, prior_idx].cpu().numpy(), frame_idx.cpu().numpy()
        per_frame = []
        for i in range(len(frames)):
            sel = np.flatnonzero(frames_np == i)
            kept = sel[nms(boxes_np[sel], scores_np[sel], self.nms_iou)] if sel.size else sel
            b = boxes_np[kept].copy()
            b[:, 0::2] = b[:, 0::2].clip(0, w)
            b[:, 1::2] = b[:, 1::2].clip(0, h)
            per_frame.append((b.astype(np.float32), scores_np[kept].astype(np.float32)))
        probs = apply_bias(self._classify(images, [b for b, _ in per_frame], h, w), self.unmasked_bias)
        out, start = [], 0
        for b, s in per_frame:
            d = Detections(b, s, None, probs[start : start + len(b)])
            d.data["raw_xyxy"] = b
            d.xyxy = self.calibration.apply(b, (h, w)) if len(b) else b
            out.append(d)
            start += len(b)
        return out

    def _priors(self, ph: int, pw: int) -> torch.Tensor:
        if (ph, pw) not in self._prior_cache:
            self._prior_cache[(ph, pw)] = torch.tensor(prior_boxes(ph, pw, STEPS, MIN_SIZES), device=self.device)
        return self._prior_cache[(ph, pw)]

    def _classify(self, images: torch.Tensor, boxes: list[np.ndarray], h: int, w: int) -> np.ndarray:
        """Every face of a frame cut by one grid_sample (grids stacked along the height), with the same
        square-with-margin rule as face_crop; then one classifier call for all faces of all frames."""
        s = CROP_SIZE  # cut as the training crops were, then area-resized to the model input like predict()
        crops = []
        for i, b in enumerate(boxes):
            if not len(b):
                continue
            b = torch.from_numpy(b).to(self.device)
            cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            half = torch.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * (1 + 2 * self.crop_margin) / 2
            theta = torch.zeros(len(b), 2, 3, device=self.device)
            # Translation chosen so output pixel i samples source index x1 + i / scale, as cv2.warpAffine does.
            theta[:, 0, 0], theta[:, 0, 2] = half / (w / 2), (2 * cx - 2 * half / s + 1) / w - 1
            theta[:, 1, 1], theta[:, 1, 2] = half / (h / 2), (2 * cy - 2 * half / s + 1) / h - 1
            grid = F.affine_grid(theta, (len(b), 3, s, s), align_corners=False).reshape(1, len(b) * s, s, 2)
            out = F.grid_sample(images[i : i + 1], grid, mode="bilinear", padding_mode="border", align_corners=False)
            crops.append(out.reshape(3, len(b), s, s).permute(1, 2, 3, 0))  # faces, S, S, 3 (BGR)
        if not crops:
            return np.zeros((0, 3), np.float32)
        batch = F.interpolate(torch.cat(crops).permute(0, 3, 1, 2), size=(self.crop_size, self.crop_size), mode="area")
        return self.classifier(batch.permute(0, 2, 3, 1).to(self.dtype)).float().cpu().numpy()
