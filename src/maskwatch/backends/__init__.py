"""Detector backends: what runs the face detector and the mask classifier, chosen by `detector.backend`.

Each backend is a plugin in maskwatch/backends/plugins/: a `DetectorBackend` subclass whose `key` is the value of
`detector.backend` that selects it. Plugins import their heavy libraries (PyTorch, ...) only when they build a
pipeline, so listing them costs nothing. A new backend: a module in plugins/ and its key in DetectorConfig.backend.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from maskwatch.backends import plugins
from maskwatch.core.detections import Detections
from maskwatch.core.errors import UserError

if TYPE_CHECKING:
    from maskwatch.config import DetectorConfig


class Pipeline(Protocol):
    """Frames in, classified faces out: one call for a batch of frames (of one or several cameras)."""

    def analyze_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]: ...


class DetectorBackend:
    """A way to run the models. Subclasses set `key` and implement `build`."""

    key: ClassVar[str]

    @staticmethod
    def build(detector: DetectorConfig) -> Pipeline:
        raise NotImplementedError

    @staticmethod
    def providers(pipeline: Pipeline) -> list[str]:
        """What the pipeline runs on, for /api/stats (e.g. CPUExecutionProvider, torch:cuda)."""
        return []


def _discover() -> dict[str, type[DetectorBackend]]:
    for module in pkgutil.iter_modules(plugins.__path__, plugins.__name__ + "."):
        importlib.import_module(module.name)
    return {backend.key: backend for backend in DetectorBackend.__subclasses__()}


BACKENDS: dict[str, type[DetectorBackend]] = _discover()


def backend(key: str) -> type[DetectorBackend]:
    try:
        return BACKENDS[key]
    except KeyError:
        raise UserError(f"detector.backend: no backend {key!r} (known: {', '.join(sorted(BACKENDS))})") from None


def make_pipeline(detector: DetectorConfig) -> Pipeline:
    """The pipeline `detector.backend` names, built from the detector settings."""
    return backend(detector.backend).build(detector)


__all__ = ["BACKENDS", "DetectorBackend", "Pipeline", "backend", "make_pipeline"]
