"""Training of the mask classifier (PyTorch, CPU) and its export to the ONNX contract."""
