"""The default backend: RetinaFace and the mask classifier in ONNX Runtime (CPU, CUDA or OpenVINO providers)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from maskwatch.backends import DetectorBackend, Pipeline

if TYPE_CHECKING:
    from maskwatch.config import DetectorConfig


class OnnxRuntimeBackend(DetectorBackend):
    key = "onnxruntime"

    @staticmethod
    def build(detector: DetectorConfig) -> Pipeline:
        from maskwatch.pipeline import MaskPipeline

        # Threads named explicitly sleep between runs (see maskwatch.core.runtime): ONNX Runtime's default pool
        # spins, which on a small machine takes the cores the camera decoders need.
        return MaskPipeline.from_defaults(
            input_size=detector.input_size,
            min_score=detector.min_score,
            providers=detector.providers,
            threads=detector.threads or min(4, os.cpu_count() or 1),
            classifier_path=detector.classifier,
            detector=detector.model,
        )

    @staticmethod
    def providers(pipeline: Pipeline) -> list[str]:
        names: list[str] = []
        for part in (getattr(pipeline, "detector", None), getattr(pipeline, "classifier", None)):
            session = getattr(part, "session", None)
            if session is not None:
                names += [p for p in session.get_providers() if p not in names]
        return names
