"""`models compare --photos`: both classifiers judge the faces one detector run found, on real VOC photos."""

from __future__ import annotations

import json
import shutil

from maskwatch.modelops.photos import SameFaces, compare_photos


class CountingDetector:
    def __init__(self, detector):
        self.detector, self.images = detector, 0

    def detect_batch(self, images, min_score=None):
        self.images += len(images)
        return self.detector.detect_batch(images, min_score)


def test_the_detector_runs_once_per_photo_and_the_same_weights_score_the_same(shared_data, classifier_model, tmp_path):
    import cv2

    from maskwatch.detect import RetinaFaceDetector

    photos = tmp_path / "street"
    for xml in sorted((shared_data / "andrewmvd" / "annotations").glob("*.xml"))[:3]:
        for sub, path in (("annotations", xml), ("images", shared_data / "andrewmvd" / "images" / f"{xml.stem}.jpg")):
            (photos / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, photos / sub / path.name)
    counting = CountingDetector(RetinaFaceDetector(input_size=640, min_score=0.3, threads=1))
    same = SameFaces(counting)
    image = cv2.imread(str(next((photos / "images").glob("*.jpg"))))
    first, again = same.detect(image), same.detect(image.copy())
    assert counting.images == 1 and (first.xyxy == again.xyxy).all() and first is not again
    first.xyxy += 5  # a copy each time: what one pipeline does to its faces does not reach the other's
    assert not (same.detect(image).xyxy == first.xyxy).all()

    copy = shutil.copy(classifier_model, tmp_path / "same_weights.onnx")
    found = compare_photos(classifier_model, copy, [photos], None)
    assert found["set"] == "photos" and json.dumps(found["a"]) == json.dumps(found["b"]) and found["a"]["n"] == 3
    assert 0 < found["a"]["unmasked_recall"] <= 1 and found["metrics"]["a"]["kind"] == "voc"
    assert found["subgroups"] and all(d["delta"] == 0 for d in found["subgroups"])  # evaluate voc's subgroups
    # the same weights: every resample of the photos gives both the same figures
    assert found["differences"]["map_mask_no_mask"] == {"difference": 0.0, "ci95": [0.0, 0.0]}
