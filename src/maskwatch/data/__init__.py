"""Data stage: import annotated sources, clean, crop faces consistently, group near-duplicates, split, report."""

from maskwatch.data.build import BuildSummary, build_dataset, group_images
from maskwatch.data.importers import (
    detect_layout,
    find_sources,
    read_class_folders,
    read_source,
    read_sources,
    read_voc,
    read_yolo,
)
from maskwatch.data.records import AnnotatedImage, LabeledImage, SourceScan
from maskwatch.data.split import assert_no_straddle, split_by_group

__all__ = [
    "AnnotatedImage",
    "BuildSummary",
    "LabeledImage",
    "SourceScan",
    "assert_no_straddle",
    "build_dataset",
    "detect_layout",
    "find_sources",
    "group_images",
    "read_class_folders",
    "read_source",
    "read_sources",
    "read_voc",
    "read_yolo",
    "split_by_group",
]
