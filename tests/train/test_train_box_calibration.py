import numpy as np

from maskwatch.detect.calibration import BoxCalibration, fit_calibration, matched_pairs


def test_fit_recovers_a_known_shift_and_applies_it():
    det = np.array([[0, 0, 10, 20], [100, 100, 120, 140], [50, 50, 60, 60]], np.float32)
    w, h = det[:, 2] - det[:, 0], det[:, 3] - det[:, 1]
    ann = det + np.stack([0 * w, 0.2 * h, 0.1 * w, 0.1 * h], 1)
    cal = fit_calibration(det, ann)
    np.testing.assert_allclose(cal.offsets, [0, 0.2, 0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(cal.apply(det), ann, atol=1e-4)


def test_group_medians_are_averaged():
    det = np.array([[0, 0, 10, 10]] * 3, np.float32)
    ann = det + np.array([[0, 1, 0, 0], [0, 1, 0, 0], [0, 3, 0, 0]], np.float32)
    cal = fit_calibration(det, ann, groups=np.array(["a", "a", "b"]))
    assert abs(cal.offsets[1] - 0.2) < 1e-6  # mean of 0.1 (a) and 0.3 (b), not the pooled median 0.1


def test_matching_is_one_to_one_best_first():
    det = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    ann = np.array([[0, 0, 10, 10], [100, 100, 110, 110]], np.float32)
    d, a = matched_pairs(det, ann)
    assert d.tolist() == [[0, 0, 10, 10]] and a.tolist() == [[0, 0, 10, 10]]


def test_missing_file_means_identity(tmp_path):
    cal = BoxCalibration.load(tmp_path / "none.json")
    boxes = np.array([[1, 2, 3, 4]], np.float32)
    assert cal.apply(boxes).tolist() == boxes.tolist()
    BoxCalibration((0.0, 0.5, 0.0, 0.0), 3).save(tmp_path / "c.json", source="test")
    assert BoxCalibration.load(tmp_path / "c.json").offsets == (0.0, 0.5, 0.0, 0.0)


def test_unmasked_bias_shifts_only_close_calls():
    from maskwatch.pipeline import apply_bias

    probs = np.array([[0.6, 0.3, 0.1], [0.98, 0.01, 0.01]], np.float32)
    shifted = apply_bias(probs, 1.0)
    np.testing.assert_allclose(shifted.sum(axis=1), 1, atol=1e-6)
    # 0.6 vs 0.4 unmasked becomes 0.6 vs 0.4e = 1.087: the close call flips, the clear mask stays a mask.
    assert shifted[0].argmax() == 1 and shifted[1].argmax() == 0
    assert apply_bias(probs, 0.0) is probs


def test_calibrated_boxes_stay_inside_the_image():
    cal = BoxCalibration((-0.1, 0.2, 0.1, 0.2))
    out = cal.apply(np.array([[0, 0, 10, 10], [90, 40, 100, 50]], np.float32), (55, 100, 3))
    assert out.min() >= 0 and out[:, 0::2].max() <= 100 and out[:, 1::2].max() <= 55
