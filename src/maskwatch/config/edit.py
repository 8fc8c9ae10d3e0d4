"""Writing zones drawn in the UI back into the user's YAML config without disturbing the rest of the file.

Only the text of the camera's `zones:` entry is replaced, at the place the YAML parser reports for it, so comments,
key order and quoting elsewhere stay as the user wrote them. The result is parsed again and must equal the old
config with the new zones; a layout this cannot edit in place (a camera written in flow style, say) is rewritten
whole instead, which keeps every value but not the comments.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from maskwatch.config import ZoneConfig
from maskwatch.core.errors import UserError


class _Polygon(list):
    """Written on one line, as people write points: [[x, y], ...]."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)  # list items indented under their key


_Dumper.add_representer(_Polygon, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True)


def save_zones(path: Path, camera: str, zones: list[ZoneConfig]) -> None:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(
            f"cannot save zones into {path}: it no longer reads as YAML ({' '.join(str(err).split())})"
        ) from None
    cams = data.get("cameras") if isinstance(data, dict) else None
    cam = next((c for c in cams or [] if isinstance(c, dict) and c.get("name") == camera), None)
    if cam is None:
        raise UserError(f"camera {camera!r} not found in {path}")
    cam["zones"] = [
        {
            "name": z.name,
            "polygon": _Polygon([round(x, 4), round(y, 4)] for x, y in z.polygon),
            "restricted": z.restricted,
            **({"hours": list(z.hours)} if z.hours else {}),
            **({"alert_labels": list(z.alert_labels)} if z.alert_labels else {}),
            **({"ignore": True} if z.ignore else {}),
        }
        for z in zones
    ]
    edited = _replace_zones_text(text, camera, cam["zones"])
    if edited is None or _loads(edited) != data:
        edited = _dump(data)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".maskwatch-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(edited)
            shutil.copymode(path, tmp)  # mkstemp makes the file private; keep the mode the config had
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise UserError(f"cannot save zones into {path}: {err.strerror or err}") from None


def _loads(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:  # e.g. an anchor that lived in the replaced zones and is used elsewhere
        return None


def _replace_zones_text(text: str, camera: str, zones: list[dict]) -> str | None:
    """The text with this camera's zones entry replaced or added, or None where the layout does not allow it."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return None
    cameras = next((v for k, v in root.value if k.value == "cameras"), None)
    if not isinstance(cameras, yaml.SequenceNode):
        return None
    node = next(
        (
            c
            for c in cameras.value
            if isinstance(c, yaml.MappingNode) and any(k.value == "name" and v.value == camera for k, v in c.value)
        ),
        None,
    )
    if node is None or node.flow_style or not node.value:
        return None
    column = node.value[0][0].start_mark.column
    entry = _dump({"zones": zones}).rstrip("\n")
    entry = entry.replace("\n", "\n" + " " * column)
    old = next(((k, v) for k, v in node.value if k.value == "zones"), None)
    if old is not None:
        start, end = old[0].start_mark.index, _content_end(text, old[0].start_mark.index, old[1].end_mark.index)
        return text[:start] + entry + text[end:]
    end = _content_end(text, node.value[-1][1].start_mark.index, node.value[-1][1].end_mark.index)
    return text[:end] + "\n" + " " * column + entry + text[end:]


def _content_end(text: str, start: int, end: int) -> int:
    """The end of the last line of a node's own text, its comment included. A block node's end mark lies after the
    comment lines and blank lines that follow it, which belong to what comes next."""
    lines = text[start:end].split("\n")
    while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    line_end = text.find("\n", start + len("\n".join(lines)))
    return len(text) if line_end < 0 else line_end
