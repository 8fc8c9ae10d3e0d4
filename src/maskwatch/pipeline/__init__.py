"""Detector + classifier: images in, classified faces out — for photos, video files and the live service."""

from maskwatch.pipeline.mask_pipeline import MODES, MaskPipeline, Mode, apply_bias, load_unmasked_bias

__all__ = ["MODES", "MaskPipeline", "Mode", "apply_bias", "load_unmasked_bias"]
