"""Markdown tables from the JSON lines of benchmarks/peers.py and benchmarks/quantize.py (for docs/performance.md).

python benchmarks/_peers/tables.py runs/peers/andrewmvd.json runs/peers/jolignier.json runs/quantize.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EMPTY_CELL = "\u2013"  # an en dash: no verdict for this model


def peers_table(d: dict) -> str:
    head = (
        f"**{d['folder'].rstrip('/').split('/')[-1]}**, {d['n_images']} {d['split']} photos, load average "
        f"{d['loadavg_1min_before_after'][0]}→{d['loadavg_1min_before_after'][1]} on {d['cpu_count']} cores\n\n"
    )
    rows = [
        (
            "| system | detector input | median ms | p90 ms | images/s | mAP@0.5 | AP mask | AP no_mask "
            "| unmasked recall | masked false alarms |"
        ),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, v in d["systems"].items():
        given = v.get("detector_input")
        size = f"{given} px" if isinstance(given, int) else str(given or "")
        size += f", faces ≥ {v.get('face_min_score', 0.05)}" if "detector_input" in v else ""
        rows.append(
            f"| {name} | {size} | {v['median_ms']:.1f} | {v['p90_ms']:.1f} | {v['images_per_s']:.1f} | "
            f"{v['map_mask_no_mask']:.3f} | {v['ap']['mask']:.3f} | {v['ap']['no_mask']:.3f} | "
            f"{v['unmasked_recall']:.3f} | {v['masked_false_alarm_rate']:.3f} |"
        )
    t = d.get("targets_vs_aizoo", {})
    tail = (
        (
            "\n\nTargets against AIZOO:\n\n"
            + "\n".join(f"- {k}: " + ", ".join(f"{a} = {b}" for a, b in v.items()) for k, v in t.items())
        )
        if t
        else ""
    )
    return head + "\n".join(rows) + tail


def quantize_tables(d: dict) -> str:
    fmts = [k for k in d["classifier_crop_accuracy_pct"] if k != "fp32"]
    out = [
        f"Classifier ({d['n_val_crops']} val crops; {d['calibration']['crops']} calibration crops from train):\n",
        (
            "| model | crop accuracy % | ms / batch of 1 | ms / batch of 16 | speed-up (16) | pipeline mAP @1024 "
            "| passes bar |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    base_map = d["pipeline_map_with_int8_detector"][str(max(map(int, d["detector_median_ms"])))]["fp32"]
    for k in ["fp32", *fmts]:
        v = d["verdict"]["classifier"].get(k, {})
        cmap = base_map if k == "fp32" else d["pipeline_map_with_int8_classifier"][k]
        out.append(
            f"| {k} | {d['classifier_crop_accuracy_pct'][k]:.2f} | {d['classifier_median_ms']['batch1'][k]:.3f} | "
            f"{d['classifier_median_ms']['batch16'][k]:.3f} | {v.get('speedup_batch16', 1.0):.2f} | {cmap:.4f} | "
            f"{v.get('passes_bar', EMPTY_CELL)} |"
        )
    sizes = list(d["detector_median_ms"])
    out += [
        "",
        (
            f"Face detector ({d['n_val_photos']} val photos for mAP, FP32 classifier; {d['calibration']['photos']} "
            f"calibration photos from train at {d['calibration']['photo_sizes']} px):\n"
        ),
        "| model | " + " | ".join(f"ms @{s} | mAP @{s}" for s in sizes) + " | passes bar |",
        "| --- | " + " | ".join("---: | ---:" for _ in sizes) + " | --- |",
    ]
    for k in ["fp32", *fmts]:
        cells = " | ".join(
            f"{d['detector_median_ms'][s][k]:.2f} | {d['pipeline_map_with_int8_detector'][s][k]:.4f}" for s in sizes
        )
        out.append(f"| {k} | {cells} | {d['verdict']['detector'].get(k, {}).get('passes_bar', EMPTY_CELL)} |")
    out += [
        "",
        "Both INT8 (pipeline mAP): "
        + ", ".join(
            f"@{s}: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items())
            for s, m in d["pipeline_map_with_both_int8"].items()
        ),
    ]
    return "\n".join(out)


def main() -> None:
    for path in sys.argv[1:]:
        d = json.loads(Path(path).read_text().strip().splitlines()[-1])
        print(peers_table(d) if d.get("benchmark") == "peers" else quantize_tables(d))
        print()


if __name__ == "__main__":
    main()
