"""The three classes, what a person who looked at an alert said of it, and the mapping of source label names onto
the classes. Every other place that names labels or review states takes them from here."""

from typing import Literal, get_args

Label = Literal["mask", "no_mask", "incorrect"]
Review = Literal["confirmed", "false_alarm"]  # what a person who looked at an alert said of it; None: not looked at
ReviewState = Literal["unreviewed", "confirmed", "false_alarm"]  # as alerts are counted and filtered on

CLASSES: tuple[str, ...] = get_args(Label)
REVIEWS: tuple[str, ...] = get_args(Review)
REVIEW_STATES: tuple[str, ...] = get_args(ReviewState)
UNMASKED: frozenset[str] = frozenset({"no_mask", "incorrect"})
DISPLAY: dict[str, str] = {"mask": "Mask", "no_mask": "No mask", "incorrect": "Mask worn incorrectly"}  # for people

_ALIASES = {
    "mask": "mask",
    "with_mask": "mask",
    "withmask": "mask",
    "masked": "mask",
    "face_mask": "mask",
    "good": "mask",
    "no_mask": "no_mask",
    "nomask": "no_mask",
    "without_mask": "no_mask",
    "withoutmask": "no_mask",
    "no-mask": "no_mask",
    "unmasked": "no_mask",
    "face_no_mask": "no_mask",
    "none": "no_mask",
    "bad": "no_mask",
    "incorrect": "incorrect",
    "mask_weared_incorrect": "incorrect",
    "mask_worn_incorrectly": "incorrect",
    "incorrect_mask": "incorrect",
    "incorrectly_worn": "incorrect",
    "improperly": "incorrect",
}


def normalize_label(name: str) -> str | None:
    """Map a source label name to one of CLASSES, or None if it is not a face-mask label."""
    key = name.strip().lower().replace(" ", "_")
    return _ALIASES.get(key) or _ALIASES.get(key.replace("-", "_"))
