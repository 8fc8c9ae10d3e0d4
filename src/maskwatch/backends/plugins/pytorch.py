"""The PyTorch backend (maskwatch[gpu]): every camera's frames as one batch, on the GPU with `providers: cuda`."""

from __future__ import annotations

from maskwatch.backends import DetectorBackend, Pipeline


class TorchBackend(DetectorBackend):
    key = "torch"

    @staticmethod
    def build(detector) -> Pipeline:
        from maskwatch.accel import TorchBatchPipeline

        return TorchBatchPipeline(
            device="cuda" if detector.providers == "cuda" else "cpu",
            input_size=detector.input_size,
            min_score=detector.min_score,
            **({"classifier_path": detector.classifier} if detector.classifier else {}),
        )

    @staticmethod
    def providers(pipeline) -> list[str]:
        return [f"torch:{pipeline.device}"]
