"""Hardware acceleration: a PyTorch backend that batches frames from many cameras on one GPU.

Needs PyTorch and onnx (`pip install maskwatch[gpu]`); nothing else in maskwatch imports it.
"""

from maskwatch.accel.torch_backend import TorchBatchPipeline, onnx_to_torch

__all__ = ["TorchBatchPipeline", "onnx_to_torch"]
