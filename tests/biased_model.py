"""A real, different classifier made from the shipped one: its probabilities re-weighted toward or away from the
unmasked classes by a log-odds shift appended to the graph (Log, Add, Softmax), so tests compare two models that
differ in a known direction without training one."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def biased_copy(source: Path, out: Path, unmasked_shift: float) -> Path:
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    probs = graph.output[0].name
    shift = numpy_helper.from_array(np.array([0.0, unmasked_shift, unmasked_shift], np.float32), "unmasked_shift")
    graph.initializer.append(shift)
    graph.node.extend(
        [
            helper.make_node("Log", [probs], ["biased_log"]),
            helper.make_node("Add", ["biased_log", "unmasked_shift"], ["biased_logits"]),
            helper.make_node("Softmax", ["biased_logits"], ["biased_probs"], axis=1),
        ]
    )
    output = graph.output[0]
    new_output = helper.make_tensor_value_info("biased_probs", output.type.tensor_type.elem_type, None)
    new_output.type.CopyFrom(output.type)
    graph.output.remove(output)
    graph.output.append(new_output)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return out
