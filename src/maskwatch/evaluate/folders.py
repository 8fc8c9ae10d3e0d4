"""The classifier on labelled class-folder images given as they are (mask/, no_mask/, ... subfolders), the way a
user hands crops to `maskwatch classify`: through the same GivenCropClassifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.evaluate.crops import BATCH, CropResult, score_crop_predictions

if TYPE_CHECKING:
    from maskwatch.classify.given import GivenCropClassifier


def evaluate_folders(
    folders: list[Path],
    manifest: Path | None = None,
    classifier: GivenCropClassifier | None = None,
    model_path: Path | None = None,
    find_face: bool = True,
) -> CropResult:
    """Score a GivenCropClassifier (given, or made from model_path / the shipped model) on every image of the class
    folders whose subfolder names a known label (only the images `manifest` lists as val, when given);
    source = folder name. Images that cannot be read are left out, and a note says how many."""
    from maskwatch.core.media import read_image
    from maskwatch.data.importers import read_class_folders
    from maskwatch.data.records import LabeledImage
    from maskwatch.evaluate.voc import paths_in_split

    items: list[LabeledImage] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise UserError(f"{folder}: no such folder")
        items += [it for it in read_class_folders(folder).items if isinstance(it, LabeledImage)]
    if manifest is not None and items:
        kept, _ = paths_in_split([str(it.path) for it in items], manifest)
        items = [items[i] for i in kept]
    if not items:
        raise UserError("no labelled images to score: give folders with one subfolder per label (mask/, no_mask/, ...)")
    if classifier is None:
        from maskwatch.classify.given import GivenCropClassifier

        classifier = GivenCropClassifier.from_model(model_path, find_face)
    scored, probs = [], []
    for i in range(0, len(items), BATCH):
        batch, images = [], []
        for item in items[i : i + BATCH]:
            try:
                images.append(read_image(item.path))
            except UserError:
                continue  # counted in the note below
            batch.append(item)
        if images:
            scored += batch
            probs.append(classifier.predict(images))
    if not scored:
        raise UserError("none of the labelled images could be read")
    result = score_crop_predictions(
        [it.label for it in scored],
        [it.source for it in scored],
        np.concatenate(probs),
        [str(it.path) for it in scored],
    )
    if len(scored) < len(items):
        result.notes.append(f"{len(items) - len(scored)} image(s) could not be read and were left out")
    return result
