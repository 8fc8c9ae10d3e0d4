"""The PyTorch backend (for GPUs) runs our ONNX graphs with the same results as ONNX Runtime (here on CPU)."""

import numpy as np
import torch

from maskwatch.accel import TorchBatchPipeline, onnx_to_torch
from maskwatch.core.runtime import make_session
from maskwatch.detect.retinaface import DEFAULT_MODEL
from maskwatch.pipeline import MaskPipeline


def test_detector_graph_matches_onnxruntime():
    x = np.random.default_rng(0).uniform(-120, 130, (2, 3, 96, 160)).astype(np.float32)
    with torch.inference_mode():
        ours = onnx_to_torch(DEFAULT_MODEL)(torch.from_numpy(x))
    ref = make_session(DEFAULT_MODEL).run(None, {"input": x})
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b, atol=1e-3)


def test_graph_runs_with_weights_on_another_device():
    """Shape arithmetic must stay on the CPU: on a GPU, Concat once mixed CUDA constants with CPU shapes.
    The meta device stands in for the GPU here; reading a meta tensor's values fails, as mixing would."""
    model = onnx_to_torch(DEFAULT_MODEL).to("meta")
    loc, conf, _landmarks = model(torch.zeros((2, 3, 96, 128), device="meta"))
    assert loc.device.type == "meta" and loc.shape == (2, 504, 4) and conf.shape == (2, 504, 2)


def test_batch_pipeline_agrees_with_onnx_pipeline(shared_data, classifier_model):
    import cv2

    frame = cv2.resize(cv2.imread(str(shared_data / "andrewmvd/images/maksssksksss114.jpg")), (640, 360))
    ours = TorchBatchPipeline(device="cpu", input_size=640).analyze_batch([frame, frame])
    ref = MaskPipeline.from_defaults(input_size=640, classifier_path=classifier_model).analyze(frame)  # FP32, as ours
    assert len(ours) == 2 and len(ours[0]) == len(ref) > 0
    np.testing.assert_allclose(ours[1].xyxy, ref.xyxy, atol=0.5)
    # Crops differ only by resampling (grid_sample/area vs warpAffine/INTER_AREA).
    np.testing.assert_allclose(ours[0].class_probs, ref.class_probs, atol=0.06)
    top2 = np.sort(ref.class_probs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.15
    assert [label for label, c in zip(ours[0].labels, clear, strict=True) if c] == [
        label for label, c in zip(ref.labels, clear, strict=True) if c
    ]


def test_frames_of_different_sizes_keep_their_order(shared_data, classifier_model):
    import cv2

    photo = cv2.imread(str(shared_data / "andrewmvd/images/maksssksksss114.jpg"))
    big, small = cv2.resize(photo, (640, 360)), cv2.resize(photo, (320, 180))
    pipe = TorchBatchPipeline(device="cpu", input_size=640)
    out = pipe.analyze_batch([big, small, big])
    assert len(out[0]) == len(out[1]) == len(out[2]) > 0
    np.testing.assert_allclose(out[0].xyxy, out[2].xyxy)
    # the same faces, at half the scale in the half-size frame
    np.testing.assert_allclose(np.sort(out[1].xyxy, axis=0), np.sort(out[0].xyxy, axis=0) / 2, atol=4)


def test_frames_without_faces_in_a_batch_keep_every_frame_its_own_faces(shared_data, classifier_model):
    """Frames with two, none and one face share one detector call and one crop (padded to two faces per frame)."""
    import cv2

    photo = cv2.resize(cv2.imread(str(shared_data / "andrewmvd/images/maksssksksss114.jpg")), (640, 360))
    one_face = photo.copy()
    one_face[:, :120] = 0
    frames = [np.zeros_like(photo), photo, np.zeros_like(photo), one_face, photo]
    pipe = TorchBatchPipeline(device="cpu", input_size=640)
    out = pipe.analyze_batch(frames)
    assert [len(d) for d in out] == [0, 2, 0, 1, 2]
    assert out[0].xyxy.shape == (0, 4) and out[0].class_probs.shape == (0, 3)
    for frame, batched in zip(frames, out, strict=True):
        alone = pipe.analyze(frame)
        np.testing.assert_allclose(batched.xyxy, alone.xyxy, atol=1e-3)
        np.testing.assert_allclose(batched.det_scores, alone.det_scores, atol=1e-5)
        np.testing.assert_allclose(batched.class_probs, alone.class_probs, atol=1e-5)


def test_service_runs_on_the_torch_backend(test_clip, tmp_path):
    """`detector.backend: torch` (on the CPU here; `providers: cuda` puts it on a GPU) drives the real service."""
    import time

    from maskwatch.config import AppConfig
    from maskwatch.service import Service

    cfg = AppConfig.model_validate(
        {
            "cameras": [{"name": "cam", "source": str(test_clip), "fps": 5}],
            "detector": {"backend": "torch", "input_size": 320},
            "storage": {"database": str(tmp_path / "events.db"), "snapshots": str(tmp_path / "snaps")},
            "ui": {"enabled": False},
        }
    )
    service = Service(cfg)
    service.start()
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not service.camera_status()[0].get("faces"):
            time.sleep(0.2)
        assert service.camera_status()[0]["faces"] > 0
        assert service.stats()["providers"] == ["torch:cpu"]
    finally:
        service.stop()


def _wide_frame(shared_data, origin=(700, 400), size=(1920, 1080)):
    """A street photo (seven unmasked faces of 13-30 px) at its own pixel size in a grey frame: a wide camera."""
    import cv2

    photo = cv2.imread(str(shared_data / "andrewmvd/images/maksssksksss121.jpg"))
    frame = np.full((size[1], size[0], 3), 90, np.uint8)
    x, y = origin
    frame[y : y + photo.shape[0], x : x + photo.shape[1]] = photo
    return frame


def test_regions_agree_with_the_onnx_pipeline(shared_data, classifier_model):
    """analyze_regions on the torch backend gives the ONNX Runtime pipeline's faces and labels (the same FP32
    classifier: the default runs its INT8 copy, which a torch backend does not), for frames of three sizes in one
    call, regions at several scales (2x around a face, 1x over the photo, the whole frame shrunk)."""
    from maskwatch.detect.regions import Region

    wide = _wide_frame(shared_data)
    small = _wide_frame(shared_data, origin=(100, 50), size=(1280, 720))
    frames = [
        (wide, [Region((650, 350, 1162, 862), 1.0, "sweep"), Region((0, 0, 1920, 1080), 1 / 3, "whole")]),
        (small, [Region((50, 0, 562, 512), 1.0, "motion"), Region((150, 100, 278, 228), 2.0, "face")]),
        (wide, []),
        (np.zeros((360, 640, 3), np.uint8), [Region((0, 0, 360, 360), 1.0, "sweep")]),  # nothing to classify
    ]
    ours = TorchBatchPipeline(device="cpu", input_size=640).analyze_regions(frames)
    ref = MaskPipeline.from_defaults(input_size=640, classifier_path=classifier_model).analyze_regions(frames)
    assert [len(d) for d in ours] == [len(d) for d in ref]
    assert len(ref[0]) == 7 and len(ref[1]) >= 1 and len(ref[2]) == len(ref[3]) == 0
    assert ours[3].class_probs.shape == (0, 3)
    for a, b in zip(ours, ref, strict=True):
        order_a, order_b = np.lexsort(a.xyxy.T[::-1]), np.lexsort(b.xyxy.T[::-1])
        np.testing.assert_allclose(a.xyxy[order_a], b.xyxy[order_b], atol=1.5)
        np.testing.assert_allclose(a.data["raw_xyxy"][order_a], b.data["raw_xyxy"][order_b], atol=1.5)
        np.testing.assert_allclose(a.class_probs[order_a], b.class_probs[order_b], atol=0.08)
