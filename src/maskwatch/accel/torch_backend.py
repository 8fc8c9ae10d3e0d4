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
from maskwatch.core.detections import Detections
from maskwatch.detect.anchors import nms, prior_boxes
from maskwatch.detect.calibration import BoxCalibration
from maskwatch.detect.models import resolve_detector
from maskwatch.detect.region_detect import detect_planned
from maskwatch.detect.regions import Region
from maskwatch.detect.retinaface import BGR_MEAN, MIN_SIZES, STEPS
from maskwatch.pipeline import apply_bias, load_unmasked_bias


def onnx_to_torch(path: str | Path) -> torch.nn.Module:
    return OnnxModule(path).eval()


def _by_shape(frames: list[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    """The indices of the frames, grouped by frame shape."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, frame in enumerate(frames):
        groups.setdefault(frame.shape[:2], []).append(i)
    return groups


def _resize(images: torch.Tensor, size: tuple[int, int], scale: float) -> torch.Tensor:
    """As RetinaFaceDetector resizes with OpenCV: area averaging to shrink (INTER_AREA), bilinear to enlarge, and
    rounded to whole grey levels as OpenCV's uint8 result is."""
    if scale < 1:
        return F.interpolate(images, size=size, mode="area").round()
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False).round()


class TorchBatchPipeline:
    def __init__(
        self,
        device: str = "cuda",
        input_size: int = 1024,
        min_score: float = 0.5,
        nms_iou: float = 0.4,
        detector: str | Path | None = None,
        classifier_path: str | Path = CLASSIFIER_MODEL,
        half: bool = False,
        crop_margin: float = 0.2,
    ):
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        model = resolve_detector(detector)  # a shipped detector's name or an ONNX path; None: the default
        self.detector = onnx_to_torch(model.path).to(self.device, self.dtype)
        self.classifier = onnx_to_torch(classifier_path).to(self.device, self.dtype)
        meta = {p.key: p.value for p in onnx.load(str(classifier_path), load_external_data=False).metadata_props}
        self.crop_size = int(meta.get("input_size", 64))
        self.crop_margin = float(meta.get("crop_margin", crop_margin))
        self.input_size, self.min_score, self.nms_iou = input_size, min_score, nms_iou
        self.mean = torch.tensor(BGR_MEAN, device=self.device).view(1, 3, 1, 1)
        self.calibration = BoxCalibration.load(model.calibration)
        self.unmasked_bias = load_unmasked_bias()
        self._prior_cache: dict[tuple[int, int], torch.Tensor] = {}
        self._host_buffers: dict[tuple[int, ...], torch.Tensor] = {}

    @torch.inference_mode()
    def analyze_batch(self, frames: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        """BGR uint8 frames → classified detections per frame; frames of one size share one network call."""
        out: list[Detections] = [None] * len(frames)  # type: ignore[list-item]
        for indices in _by_shape(frames).values():
            for i, dets in zip(indices, self._analyze_same_size([frames[i] for i in indices], min_score), strict=True):
                out[i] = dets
        return out

    def analyze(self, frame: np.ndarray, min_score: float | None = None) -> Detections:
        return self.analyze_batch([frame], min_score)[0]

    @torch.inference_mode()
    def analyze_regions(
        self, frames: list[tuple[np.ndarray, list[Region]]], min_score: float | None = None
    ) -> list[Detections]:
        """As MaskPipeline.analyze_regions: the detector on the planned regions of each frame (the regions of all
        frames that come to one input shape in one network call), the faces classified in their frames."""
        found = detect_planned(self, frames, min_score)
        out: list[Detections] = [None] * len(frames)  # type: ignore[list-item]
        for indices in _by_shape([image for image, _ in frames]).values():
            faces = [(found[i].xyxy, found[i].det_scores) for i in indices]
            shape = frames[indices[0]][0].shape[:2]
            images = None  # the frames go to the device only where there are faces to cut
            if any(len(boxes) for boxes, _ in faces):
                images = self._upload([frames[i][0] for i in indices]).permute(0, 3, 1, 2).float()
            for i, dets in zip(indices, self._classified(images, faces, shape), strict=True):
                out[i] = dets
        return out

    def detect_each(
        self, images: list[np.ndarray], scales: list[float], min_score: float | None = None
    ) -> list[Detections]:
        """Images each resized by its own scale to one input shape (the RetinaFaceDetector.detect_each of this
        backend, for maskwatch.detect.region_detect); unclassified faces in each image's own pixels."""
        if not images:
            return []
        sizes = [
            (max(1, round(im.shape[0] * s)), max(1, round(im.shape[1] * s)))
            for im, s in zip(images, scales, strict=True)
        ]
        ph, pw = max(-(-nh // 32) * 32 for nh, _ in sizes), max(-(-nw // 32) * 32 for _, nw in sizes)
        blob = torch.zeros((len(images), 3, ph, pw), device=self.device)
        for i, (image, scale, (nh, nw)) in enumerate(zip(images, scales, sizes, strict=True)):
            x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None].float()
            if (nh, nw) != image.shape[:2]:
                x = _resize(x, (nh, nw), scale)
            blob[i, :, :nh, :nw] = x[0] - self.mean[0]
        found = self._detect(blob, scales, [im.shape[:2] for im in images], min_score)
        return [Detections(boxes, scores) for boxes, scores in found]

    def _analyze_same_size(self, frames: list[np.ndarray], min_score: float | None) -> list[Detections]:
        n, (h, w) = len(frames), frames[0].shape[:2]
        scale = self.input_size / max(h, w)
        nh, nw = round(h * scale), round(w * scale)
        ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
        # N, 3, H, W in 0..255 BGR, resized in fp32 (the network may run in fp16)
        images = self._upload(frames).permute(0, 3, 1, 2).float()
        x = _resize(images, (nh, nw), scale) - self.mean
        x = F.pad(x, (0, pw - nw, 0, ph - nh))
        return self._classified(images, self._detect(x, [scale] * n, [(h, w)] * n, min_score), (h, w))

    def _detect(
        self, x: torch.Tensor, scales: list[float], shapes: list[tuple[int, int]], min_score: float | None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The detector on a mean-subtracted N, 3, H, W batch, each image resized by its scale: (boxes, scores)
        per image in its own pixels, after NMS."""
        n, ph, pw = x.shape[0], x.shape[2], x.shape[3]
        loc, conf, _ = self.detector(x.to(self.dtype))
        priors = self._priors(ph, pw)
        scores = conf[..., 1].float()
        keep = scores >= (self.min_score if min_score is None else min_score)
        frame_idx, prior_idx = keep.nonzero(as_tuple=True)
        delta, p = loc[frame_idx, prior_idx].float(), priors[prior_idx]
        centre = p[:, :2] + delta[:, :2] * 0.1 * p[:, 2:]
        size = p[:, 2:] * torch.exp(delta[:, 2:] * 0.2)
        scale = torch.tensor(scales, device=self.device)[frame_idx, None]
        frame_size = torch.tensor([pw, ph, pw, ph], device=self.device)
        boxes = torch.cat([centre - size / 2, centre + size / 2], 1) * frame_size / scale
        # One transfer: x1, y1, x2, y2, score, image of every candidate, in image order as nonzero() gives them.
        found = torch.cat([boxes, scores[frame_idx, prior_idx, None], frame_idx[:, None]], 1).cpu().numpy()
        out = []
        for c, (h, w) in zip(np.split(found, np.searchsorted(found[:, 5], np.arange(1, n))), shapes, strict=True):
            kept = c[nms(c[:, :4], c[:, 4], self.nms_iou)]
            out.append((kept[:, :4].clip(0, np.array([w, h, w, h], np.float32)), kept[:, 4].copy()))
        return out

    def _classified(
        self, images: torch.Tensor | None, faces: list[tuple[np.ndarray, np.ndarray]], shape: tuple[int, int]
    ) -> list[Detections]:
        """Each frame's faces (boxes, scores) of `images` (N, 3, H, W float; None where no frame has a face)
        classified in one call, boxes calibrated (raw ones kept in data["raw_xyxy"]), as MaskPipeline.classify."""
        h, w = shape
        counts = [len(boxes) for boxes, _ in faces]
        boxes = np.concatenate([b for b, _ in faces]).astype(np.float32)
        scores = np.concatenate([s for _, s in faces]).astype(np.float32)
        probs = apply_bias(self._classify(images, boxes, counts, h, w), self.unmasked_bias)
        calibrated = self.calibration.apply(boxes, (h, w))
        parts = (np.split(a, np.cumsum(counts)[:-1]) for a in (boxes, calibrated, scores, probs))
        return [Detections(xyxy, s, None, p, data={"raw_xyxy": b}) for b, xyxy, s, p in zip(*parts, strict=True)]

    def _upload(self, frames: list[np.ndarray]) -> torch.Tensor:
        """The frames as one N, H, W, 3 uint8 tensor on the device: copied once into a host buffer kept per frame
        size (pinned on CUDA, so the upload is one asynchronous DMA). Reusing it is safe because analyze_batch
        waits for the device before it returns; it is not safe for concurrent calls."""
        buffer = self._host_buffers.get(frames[0].shape)
        if buffer is None or len(buffer) < len(frames):
            buffer = torch.empty(
                (len(frames), *frames[0].shape), dtype=torch.uint8, pin_memory=self.device.type == "cuda"
            )
            self._host_buffers[frames[0].shape] = buffer
        host = buffer[: len(frames)]
        np.stack(frames, out=host.numpy())
        return host.to(self.device, non_blocking=True)

    def _priors(self, ph: int, pw: int) -> torch.Tensor:
        if (ph, pw) not in self._prior_cache:
            self._prior_cache[(ph, pw)] = torch.tensor(prior_boxes(ph, pw, STEPS, MIN_SIZES), device=self.device)
        return self._prior_cache[(ph, pw)]

    def _classify(
        self, images: torch.Tensor | None, boxes: np.ndarray, counts: list[int], h: int, w: int
    ) -> np.ndarray:
        """Every face of every frame cut by one grid_sample, with the same square-with-margin rule as face_crop:
        a frame's faces are stacked along the height of its grid, padded to the most faces of any frame. Then one
        classifier call for all faces."""
        if not len(boxes):
            return np.zeros((0, 3), np.float32)
        assert images is not None
        s, n, most = (
            CROP_SIZE,
            len(counts),
            max(counts),
        )  # cut as the training crops were, then area-resized like predict()
        frame = np.repeat(np.arange(n), counts)
        rows = torch.from_numpy(frame * most + np.arange(len(frame)) - np.searchsorted(frame, frame)).to(
            self.device
        )  # frame, slot
        b = torch.from_numpy(boxes).to(self.device)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        half = torch.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * (1 + 2 * self.crop_margin) / 2
        theta = torch.zeros(n * most, 2, 3, device=self.device)
        # Translation chosen so output pixel i samples source index x1 + i / scale, as cv2.warpAffine does.
        theta[rows, 0, 0], theta[rows, 0, 2] = half / (w / 2), (2 * cx - 2 * half / s + 1) / w - 1
        theta[rows, 1, 1], theta[rows, 1, 2] = half / (h / 2), (2 * cy - 2 * half / s + 1) / h - 1
        grid = F.affine_grid(theta, [n * most, 3, s, s], align_corners=False).reshape(n, most * s, s, 2)
        crops = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False).round()
        crops = crops.unflatten(2, (most, s)).transpose(1, 2).flatten(0, 1)[rows]  # faces, 3, S, S (BGR)
        batch = F.interpolate(crops, size=(self.crop_size, self.crop_size), mode="area")
        return self.classifier(batch.permute(0, 2, 3, 1).to(self.dtype)).float().cpu().numpy()
