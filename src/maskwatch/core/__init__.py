"""What every stage shares: labels, the Detections record, errors, paths, media reading, drawing, ONNX sessions."""
