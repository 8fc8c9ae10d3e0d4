"""ONNX export per the classifier contract, and the PyTorch-vs-ONNX Runtime parity check."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from maskwatch.classify.crop import CROP_MARGIN
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.train.model import ExportModel

PARITY_TOLERANCE = 1e-4


def export_onnx(
    nets: Sequence[torch.nn.Module],
    path: Path,
    input_size: int,
    opset: int = 17,
    metadata: dict[str, str] | None = None,
    flip_average: bool = False,
) -> Path:
    """input "input" float32 [N, S, S, 3] BGR 0..255 -> output "probs" [N, 3]; metadata classes, input_size and
    crop_margin, and `metadata` (e.g. train_manifest_sha256: the split it was trained on). Several networks are
    exported as one graph giving the mean of their probabilities; `flip_average` adds each crop's mirror image
    (metadata flip_average: true)."""
    import onnx

    model = ExportModel(*nets, flip_average=flip_average).eval()
    dummy = torch.zeros(2, input_size, input_size, 3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The TorchScript-based exporter (dynamo=False) needs no onnxscript.
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["probs"],
        dynamic_axes={"input": {0: "N"}, "probs": {0: "N"}},
        opset_version=opset,
        dynamo=False,
    )
    proto = onnx.load(str(path))
    meta = {"classes": ",".join(CLASSES), "input_size": str(input_size), "crop_margin": str(CROP_MARGIN)}
    meta.update(metadata or {})
    if flip_average:
        meta["flip_average"] = "true"
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def export_checked(
    nets: Sequence[torch.nn.Module],
    out: Path,
    input_size: int,
    images: np.ndarray,
    metadata: dict[str, str],
    flip_average: bool = False,
) -> tuple[Path, dict]:
    """OUT/model.onnx (export_onnx) and OUT/parity.json (parity_check over `images`): the file and the check; a
    failed check is a UserError."""
    path = export_onnx(nets, out / "model.onnx", input_size, metadata=metadata, flip_average=flip_average)
    parity = parity_check(nets, path, images, flip_average=flip_average)
    (out / "parity.json").write_text(json.dumps(parity, indent=1))
    if not parity["ok"]:
        raise UserError(f"ONNX parity check failed: {parity}")
    return path, parity


def parity_check(
    nets: Sequence[torch.nn.Module],
    onnx_path: Path,
    images: np.ndarray,
    batch_size: int = 256,
    flip_average: bool = False,
) -> dict:
    """Max abs difference of probabilities, PyTorch vs ONNX Runtime, over uint8 crops [N, S, S, 3]."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    model = ExportModel(*nets, flip_average=flip_average).eval()
    max_diff, argmax_equal = 0.0, True
    for i in range(0, len(images), batch_size):
        batch = images[i : i + batch_size].astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(batch)).numpy()
        got = session.run(["probs"], {"input": batch})[0]
        max_diff = max(max_diff, float(np.abs(ref - got).max()))
        argmax_equal &= bool((ref.argmax(1) == got.argmax(1)).all())
    return {
        "n": len(images),
        "max_abs_diff": max_diff,
        "argmax_equal": argmax_equal,
        "tolerance": PARITY_TOLERANCE,
        "ok": max_diff < PARITY_TOLERANCE and argmax_equal,
    }
