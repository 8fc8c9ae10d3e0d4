"""The PyTorch backend (maskwatch[gpu]): every camera's frames as one batch, on the GPU with `providers: cuda`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.backends import DetectorBackend, Pipeline

if TYPE_CHECKING:
    from maskwatch.config import DetectorConfig


class TorchBackend(DetectorBackend):
    key = "torch"

    @staticmethod
    def build(detector: DetectorConfig) -> Pipeline:
        from maskwatch.accel import TorchBatchPipeline
        from maskwatch.classify.classifier import DEFAULT_MODEL, float_model

        return TorchBatchPipeline(
            device="cuda" if detector.providers == "cuda" else "cpu",
            input_size=detector.input_size,
            min_score=detector.min_score,
            detector=detector.model,
            classifier_path=float_model(Path(detector.classifier)) if detector.classifier else DEFAULT_MODEL,
        )

    @staticmethod
    def providers(pipeline: Pipeline) -> list[str]:
        from maskwatch.accel import TorchBatchPipeline

        assert isinstance(pipeline, TorchBatchPipeline)
        return [f"torch:{pipeline.device}"]
