"""Augmentation of whole batches with torch ops: one affine warp, hand-cut framing, colour jitter, low-resolution,
blur and noise.

Everything acts on float NHWC-derived NCHW tensors in 0..255 BGR, before normalisation, and draws from one
torch.Generator (on the batch's device) so a run is reproducible from its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    scale: tuple[float, float] = (0.85, 1.15)  # zoom of the face within the crop (detector boxes vary in size)
    # Share of the batch framed as a face crop cut by hand from an annotated box, which is what `maskwatch classify`
    # is given: tighter (zoom up to 1 + 2 * CROP_MARGIN = 1.4 and beyond) and, where the box is narrower than tall,
    # squared by replicating its side columns.
    user_crop: float = 0.0
    user_crop_scale: tuple[float, float] = (1.0, 1.5)
    user_crop_aspect: tuple[float, float] = (0.6, 1.0)  # box width / height of those
    shift: float = 0.08  # fraction of the crop side
    rotate_deg: float = 12.0
    flip: float = 0.5
    brightness: float = 0.35  # multiplicative, 1 +- this
    contrast: float = 0.3
    saturation: float = 0.4
    grayscale: float = 0.05
    lowres: float = 0.3  # share of the batch downscaled to mimic tiny, far faces
    lowres_min: float = 0.25  # smallest downscale factor of the side
    blur: float = 0.15
    noise: float = 0.2
    noise_std: float = 6.0


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, device=g.device)


def random_affine(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator, user: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    zoom = _uniform(n, *cfg.scale, g)
    if cfg.user_crop > 0:
        zoom = torch.where(user, _uniform(n, *cfg.user_crop_scale, g), zoom)
    angle = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, g) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=g, device=g.device) < cfg.flip, -1.0, 1.0)
    # theta maps output coords to input coords: sampling a smaller window (1/zoom) enlarges the face.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, :, 2] = _uniform(2 * n, -2 * cfg.shift, 2 * cfg.shift, g).view(n, 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Border padding = the edge replication face_crop uses where a crop leaves the image.
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def replicate_sides(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator, user: torch.Tensor) -> torch.Tensor:
    """Replace the outer columns of the chosen crops by their edge column, as squaring a narrow crop does."""
    n, size = x.shape[0], x.shape[-1]
    aspect = _uniform(n, *cfg.user_crop_aspect, g)
    band = torch.where(
        user, ((1 - aspect) / 2 * size).round().long(), torch.zeros(n, dtype=torch.long, device=x.device)
    )
    cols = torch.arange(size, device=x.device).expand(n, size)
    cols = torch.minimum(torch.maximum(cols, band[:, None]), (size - 1 - band)[:, None])
    return torch.gather(x, 3, cols[:, None, None, :].expand_as(x))


def color_jitter(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    gray = 0.114 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.299 * x[:, 2:3]  # BGR luma
    sat = _uniform(n, 1 - cfg.saturation, 1 + cfg.saturation, g).view(n, 1, 1, 1)
    sat = torch.where(torch.rand(n, 1, 1, 1, generator=g, device=g.device) < cfg.grayscale, torch.zeros_like(sat), sat)
    x = gray + (x - gray) * sat
    mean = gray.mean(dim=(1, 2, 3), keepdim=True)
    contrast = _uniform(n, 1 - cfg.contrast, 1 + cfg.contrast, g).view(n, 1, 1, 1)
    x = mean + (x - mean) * contrast
    brightness = _uniform(n, 1 - cfg.brightness, 1 + cfg.brightness, g).view(n, 1, 1, 1)
    return x * brightness


def low_resolution(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Down- then up-scale a random share of the batch (one factor per batch, so it is one interpolate call)."""
    chosen = torch.rand(x.shape[0], generator=g, device=g.device) < cfg.lowres
    if not chosen.any():
        return x
    size = x.shape[-1]
    small = max(8, round(size * float(_uniform(1, cfg.lowres_min, 0.8, g))))
    sub = F.interpolate(x[chosen], size=(small, small), mode="area")
    x = x.clone()
    x[chosen] = F.interpolate(sub, size=(size, size), mode="bilinear", align_corners=False)
    return x


def blur_and_noise(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    blur = torch.rand(n, generator=g, device=g.device) < cfg.blur
    if blur.any():
        k = torch.tensor([1.0, 2.0, 1.0], device=x.device)
        kernel = (k[:, None] * k[None, :] / 16).expand(3, 1, 3, 3).contiguous()
        x = x.clone()
        x[blur] = F.conv2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    noisy = (torch.rand(n, generator=g, device=g.device) < cfg.noise).float().view(n, 1, 1, 1)
    std = _uniform(n, 0, cfg.noise_std, g).view(n, 1, 1, 1)
    return x + noisy * std * torch.randn(x.shape, generator=g, device=g.device)


def augment_batch(nhwc_uint8: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """uint8 [N, S, S, 3] BGR -> augmented float32 [N, S, S, 3] in 0..255 (the model's input convention)."""
    x = nhwc_uint8.permute(0, 3, 1, 2).float()
    # No draw at all when off, so runs without it keep the random stream they were made with.
    user = (
        torch.rand(x.shape[0], generator=g, device=g.device) < cfg.user_crop
        if cfg.user_crop > 0
        else torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    )
    x = random_affine(x, cfg, g, user)
    if cfg.user_crop > 0:
        x = replicate_sides(x, cfg, g, user)
    x = color_jitter(x, cfg, g)
    x = low_resolution(x, cfg, g)
    x = blur_and_noise(x, cfg, g)
    return x.clamp_(0, 255).permute(0, 2, 3, 1)
