"""A peer model as a worker process, run with the peers' venv (.venv-peers/bin/python).

    worker.py aizoo|chandrikadeb7 WEIGHTS_DIR

Loads the model (not timed), prints one line {"ready": true, ...}, then for each image path read from stdin
prints one line {"dets": [{box, label, score}], "ms": inference milliseconds}. The image is decoded before the
clock starts, so every system is timed on the same work: a BGR array in, labelled boxes out.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# One thread everywhere, set before TensorFlow or OpenCV start their pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def main() -> None:
    system, weights = sys.argv[1], Path(sys.argv[2])
    # Our protocol owns stdout; anything a library prints goes to stderr.
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cv2

    cv2.setNumThreads(1)
    if system == "aizoo":
        from aizoo import AizooDetector

        model = AizooDetector(weights)
    elif system == "chandrikadeb7":
        from chandrikadeb7 import Chandrikadeb7Pipeline

        model = Chandrikadeb7Pipeline(weights)
    else:
        raise SystemExit(f"unknown peer {system!r}")
    versions = {"opencv": cv2.__version__}
    if "tensorflow" in sys.modules:
        versions["tensorflow"] = sys.modules["tensorflow"].__version__
    reply.write(json.dumps({"ready": True, "system": system, **versions}) + "\n")
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            reply.write(json.dumps({"error": f"cannot read {path}"}) + "\n")
            continue
        t0 = time.perf_counter()
        dets = model(image)
        ms = (time.perf_counter() - t0) * 1000
        reply.write(json.dumps({"dets": dets, "ms": ms}) + "\n")


if __name__ == "__main__":
    main()
