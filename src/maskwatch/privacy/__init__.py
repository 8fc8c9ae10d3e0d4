"""Privacy: faces are hidden in snapshots and in the live view unless the config says otherwise."""

from maskwatch.privacy.blur import blur_faces, hide_region

__all__ = ["blur_faces", "hide_region"]
