"""ONNX Runtime sessions with a configurable execution provider."""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort

from maskwatch.core.errors import UserError

log = logging.getLogger(__name__)

PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}


def resolve_providers(providers: str | list[str]) -> list[str]:
    wanted = [providers] if isinstance(providers, str) else list(providers)
    available = set(ort.get_available_providers())
    chosen = [PROVIDERS.get(p, p) for p in wanted if PROVIDERS.get(p, p) in available]
    missing = [p for p in wanted if PROVIDERS.get(p, p) not in available]
    if missing:
        log.warning("execution provider(s) %s not installed; falling back to CPU", ", ".join(missing))
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def make_session(
    model: str | Path | bytes, providers: str | list[str] = "cpu", threads: int | None = None
) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        # Pool threads sleep between runs instead of spinning: a spinning pool burns the cores that camera
        # decoders and the other session need (measured in benchmarks/live.py, docs/performance.md).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    where = "<bytes>" if isinstance(model, bytes) else str(model)
    try:
        session = ort.InferenceSession(
            model if isinstance(model, bytes) else where, sess_options=opts, providers=resolve_providers(providers)
        )
    except Exception as err:  # noqa: BLE001 (onnxruntime raises its own types: InvalidProtobuf, NoSuchFile, Fail, ...)
        raise UserError(f"{where}: not a usable ONNX model ({' '.join(str(err).split())[:200]})") from None
    log.info("ONNX session %s on %s", Path(where).name, session.get_providers()[0])
    return session
