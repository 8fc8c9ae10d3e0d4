"""Privacy: faces are hidden in snapshots and in the live view unless the config says otherwise."""

from maskwatch.privacy.blur import MARGIN, blur_faces, hide_region

__all__ = ["MARGIN", "blur_faces", "hide_region"]
