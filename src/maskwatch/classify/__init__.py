"""Mask classification of face crops."""

from maskwatch.classify.classifier import MaskClassifier
from maskwatch.classify.crop import face_crop, face_crops

__all__ = ["MaskClassifier", "face_crop", "face_crops"]
