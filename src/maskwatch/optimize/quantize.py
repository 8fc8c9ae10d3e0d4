"""Static INT8 quantisation of the classifier and the face detector with ONNX Runtime.

Weights per channel (int8), activations uint8 with ranges calibrated on real inputs (MinMax). Two formats:
QDQ (Quantize/DequantizeLinear pairs that the runtime fuses) and QOperator (QLinearConv and friends);
which one runs faster depends on the CPU and the graph, so benchmarks/quantize.py measures both.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, version_converter
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from maskwatch.core.errors import UserError
from maskwatch.optimize.calibration import CropCalibrationReader, PhotoCalibrationReader

MIN_OPSET = 13
METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "percentile": CalibrationMethod.Percentile,
    "entropy": CalibrationMethod.Entropy,
}
FORMATS = {"qdq": QuantFormat.QDQ, "qoperator": QuantFormat.QOperator}


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _name_nodes_and_pick_float_outputs(path: Path, exclude_ops: Sequence[str] = ()) -> list[str]:
    """Names every node (exclusion works by name) and returns the nodes to keep in float: Softmax and every node
    after it (the Concat and ReduceMean that average several networks), and every node that writes a graph output.
    An 8-bit output would put the class probabilities on a 1/256 grid (ties in the AP ranking, probabilities that
    no longer sum to 1) and the box offsets on a coarse grid.
    Also the input pre-processing in front of the first Conv (transpose, mean, scale): as QLinearMul and friends
    with per-channel broadcast it cost more than all the int8 convolutions together (measured on our classifier).
    Keeping RetinaFace's prediction heads in float as well was tried: it did not recover the mAP INT8 loses."""
    model = onnx.load(str(path))
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    onnx.save(model, str(path))
    outputs = {o.name for o in model.graph.output}
    keep = {n.name for n in model.graph.node if n.op_type in ("Softmax", *exclude_ops) or outputs & set(n.output)}
    consumers: dict[str, list] = {}
    for node in model.graph.node:
        for t in node.input:
            consumers.setdefault(t, []).append(node)
    stack = [t for n in model.graph.node if n.op_type == "Softmax" for t in n.output]
    while stack:  # forward from each Softmax: the probabilities stay in float to the output
        for node in consumers.get(stack.pop(), []):
            if node.name not in keep:
                keep.add(node.name)
                stack.extend(node.output)
    stack = [i.name for i in model.graph.input]
    while stack:  # forward from the inputs up to (not into) the first Conv/Gemm/MatMul on each path
        for node in consumers.get(stack.pop(), []):
            folded = node.name.endswith("_affine")  # the input normalisation, as a Conv: cheaper in float
            if (folded or node.op_type not in ("Conv", "Gemm", "MatMul")) and node.name not in keep:
                keep.add(node.name)
                stack.extend(node.output)
    return sorted(keep)


def _affine_to_conv(model: onnx.ModelProto) -> onnx.ModelProto:
    """Sub(const), optionally followed by Mul|Div(const), with per-channel NCHW constants (input normalisation)
    becomes one 1x1 depthwise Conv, the same arithmetic. Left as Sub/Mul, ONNX Runtime moves the input Transpose
    past them in the quantised graph and runs them channels-last at 0.5 ms each per 16 crops: more than all the
    int8 convolutions of our classifier together."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for t in node.input:
            consumers.setdefault(t, []).append(node)
    for sub in [n for n in graph.node if n.op_type == "Sub" and n.input[1] in inits]:
        mean = numpy_helper.to_array(inits[sub.input[1]]).astype(np.float32)
        if mean.ndim != 4 or mean.shape[0] != 1 or mean.shape[2:] != (1, 1):
            continue
        c = mean.shape[1]
        after = consumers.get(sub.output[0], [])
        scale_node = (
            after[0] if len(after) == 1 and after[0].op_type in ("Mul", "Div") and after[0].input[1] in inits else None
        )
        scale = np.ones(c, np.float32)
        if scale_node is not None:
            factor = numpy_helper.to_array(inits[scale_node.input[1]]).astype(np.float32)
            if factor.size not in (1, c):
                continue
            factor = np.broadcast_to(factor.reshape(-1), (c,))
            scale = 1.0 / factor if scale_node.op_type == "Div" else factor
        replaced = [sub] if scale_node is None else [sub, scale_node]
        weight = numpy_helper.from_array(scale.reshape(c, 1, 1, 1).astype(np.float32), f"{sub.name}_affine_weight")
        bias = numpy_helper.from_array((-mean.reshape(c) * scale).astype(np.float32), f"{sub.name}_affine_bias")
        graph.initializer.extend([weight, bias])
        conv = onnx.helper.make_node(
            "Conv",
            [sub.input[0], weight.name, bias.name],
            [replaced[-1].output[0]],
            name=f"{sub.name}_affine",
            group=c,
            kernel_shape=[1, 1],
        )
        position = list(graph.node).index(sub)
        for node in replaced:
            graph.node.remove(node)
        graph.node.insert(position, conv)
    used = {t for n in graph.node for t in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
    return model


def _format(name: str) -> QuantFormat:
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise UserError(f"quantisation format must be one of {', '.join(FORMATS)}, got {name!r}") from None


def _quantize(
    model_in: Path,
    model_out: Path,
    reader: CalibrationDataReader,
    fmt: str,
    per_channel: bool,
    method: str = "minmax",
    exclude_ops: Sequence[str] = (),
) -> Path:
    model_in, model_out = Path(model_in), Path(model_out)
    if not model_in.is_file():
        raise UserError(f"model not found: {model_in}")
    quant_format = _format(fmt)
    if method not in METHODS:
        raise UserError(f"calibration method must be one of {', '.join(METHODS)}, got {method!r}")
    model_out.parent.mkdir(parents=True, exist_ok=True)
    original = onnx.load(str(model_in))
    with tempfile.TemporaryDirectory() as tmp:
        # Shape inference and graph clean-up first, as ONNX Runtime recommends before static quantisation.
        working = onnx.load(str(model_in))
        if _opset(working) < MIN_OPSET:
            # Per-channel DequantizeLinear (its `axis`) needs opset 13; older graphs are converted first.
            working = version_converter.convert_version(working, MIN_OPSET)
        source = Path(tmp) / "source.onnx"
        onnx.save(_affine_to_conv(working), str(source))
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False, auto_merge=True)
        excluded = _name_nodes_and_pick_float_outputs(prepared, exclude_ops)
        quantize_static(
            str(prepared),
            str(model_out),
            reader,
            nodes_to_exclude=excluded,
            quant_format=quant_format,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=METHODS[method],
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    # Keep the model's metadata (classes, input size, crop margin) so MaskClassifier accepts the INT8 file.
    quantized = onnx.load(str(model_out))
    del quantized.metadata_props[:]
    for prop in original.metadata_props:
        quantized.metadata_props.add(key=prop.key, value=prop.value)
    quantized.metadata_props.add(
        key="quantization", value=f"int8 static {fmt.lower()} per_channel={per_channel} calibration={method}"
    )
    # Which FP32 file this copy was made from: a service should prefer the INT8 file only while they match.
    quantized.metadata_props.add(key="fp32_sha256", value=hashlib.sha256(model_in.read_bytes()).hexdigest())
    onnx.save(quantized, str(model_out))
    return model_out


def quantize_classifier(
    model_in: Path,
    model_out: Path,
    crops: Sequence[np.ndarray],
    fmt: str = "qdq",
    per_channel: bool = True,
    batch: int = 32,
    method: str = "minmax",
) -> Path:
    """INT8 copy of a classifier ONNX (maskwatch contract: input [N, S, S, 3] BGR 0..255), calibrated on crops."""
    model = onnx.load(str(model_in)) if Path(model_in).is_file() else None
    if model is None:
        raise UserError(f"model not found: {model_in}")
    meta = {p.key: p.value for p in model.metadata_props}
    graph_input = model.graph.input[0]
    size = int(meta.get("input_size") or graph_input.type.tensor_type.shape.dim[1].dim_value)
    reader = CropCalibrationReader(crops, size, graph_input.name, batch)
    return _quantize(model_in, model_out, reader, fmt, per_channel, method)


def quantize_detector(
    model_in: Path,
    model_out: Path,
    images: Sequence[np.ndarray],
    input_sizes: Sequence[int] = (416, 1024),
    fmt: str = "qdq",
    per_channel: bool = True,
    method: str = "minmax",
) -> Path:
    """INT8 copy of the RetinaFace ONNX, calibrated on photos prepared as RetinaFaceDetector does at each of
    input_sizes (activation ranges differ with the scale, so calibrate at every size the model will run at)."""
    from maskwatch.detect import RetinaFaceDetector

    if method != "minmax":
        # ONNX Runtime's histogram calibrators stack activations, so they need one input shape; photos differ.
        raise UserError(f"the detector calibrates with minmax only (photos of different shapes), got {method!r}")
    detectors = [RetinaFaceDetector(model_in, input_size=int(size), threads=1) for size in input_sizes]
    reader = PhotoCalibrationReader(images, [d.prepare for d in detectors], detectors[0].input_name)
    return _quantize(model_in, model_out, reader, fmt, per_channel, method)
