"""Fine-tuning the RetinaFace face detector (PyTorch, CPU) on the face boxes of VOC photos, and its ONNX export."""
