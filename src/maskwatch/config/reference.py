"""docs/configuration.md, written from the models: every section, key, type, default, limit and description, so
that the reference cannot drift from what the service accepts (tests/config/test_config_reference.py checks it).

`maskwatch config reference --out docs/configuration.md` rewrites it.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from maskwatch.config.app import AppConfig
from maskwatch.config.yaml_reader import ALIAS_BUDGET, MAX_DEPTH
from maskwatch.core.paths import REPO_ROOT

REFERENCE_PATH = REPO_ROOT / "docs" / "configuration.md"

INTRO = f"""\
# Configuration

<!-- Generated from the config models by `maskwatch config reference --out docs/configuration.md`; do not edit. -->

maskwatch reads one YAML file (`maskwatch serve --config FILE`; `maskwatch config check FILE` validates it without
starting anything). Only `cameras` is required; every other key has the default shown here. The smallest config:

```yaml
cameras:
  - name: entrance
    source: rtsp://user:${{CAMERA_PASSWORD}}@192.168.1.20/stream
```

How the file is read:

- **Unknown keys are errors**, as are keys given twice: a typo never silently falls back to a default.
- **`${{NAME}}`** in any value is replaced by the environment variable NAME (unset: an error), so secrets can stay
  out of the file.
- **Relative paths** (files, folders, certificates) are relative to the config file's folder.
- **Anchors and aliases** (`&zones` / `*zones`, `<<: *defaults`) may repeat parts of the file; what aliases repeat
  is capped at {ALIAS_BUDGET:,} values and the nesting at {MAX_DEPTH} levels, and a recursive alias is an error.
- An error names the file, the line and the key at fault, in one line.
- Zones drawn in the web UI are written back into the file ([The live service](live-service.md#the-config-file)).
- *unset* below means the key is left out (or `null`).
"""


def reference() -> str:
    """The whole reference as Markdown."""
    parts = [INTRO]
    for path, model in _sections(AppConfig, ""):
        parts.append(_section(path, model))
    return "\n".join(parts).rstrip("\n") + "\n"


def write_reference(out: Path = REFERENCE_PATH) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(reference(), encoding="utf-8")
    return out


def undescribed_fields(model: type[BaseModel] = AppConfig, path: str = "") -> list[str]:
    """Keys without a description, e.g. ['cameras[].fps']; the reference needs one for every key."""
    missing = []
    for section_path, section in _sections(model, path):
        missing += [_key(section_path, name) for name, field in section.model_fields.items() if not field.description]
    return missing


def _sections(model: type[BaseModel], path: str) -> Iterator[tuple[str, type[BaseModel]]]:
    """(path, model) of this section and every section below it, depth first in the order of the fields."""
    yield path, model
    for name, field in model.model_fields.items():
        nested, repeated = _nested_model(field.annotation)
        if nested is not None:
            yield from _sections(nested, _key(path, name) + ("[]" if repeated else ""))


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model a field holds (directly, optionally or as a list), and whether it is a list of them."""
    for arg in _union_members(annotation):
        if inspect.isclass(arg) and issubclass(arg, BaseModel):
            return arg, False
        if get_origin(arg) is list:
            item = _strip_annotated(get_args(arg)[0])
            if inspect.isclass(item) and issubclass(item, BaseModel):
                return item, True
    return None, False


def _section(path: str, model: type[BaseModel]) -> str:
    title = path or "Top level"
    doc = " ".join(inspect.cleandoc(model.__doc__ or "").split())
    lines = [f"{'#' * min(2 + path.count('.'), 4)} {title}", ""]
    if doc:
        lines += [doc, ""]
    for name, field in model.model_fields.items():
        lines.append(_field_line(path, name, field))
    return "\n".join(lines) + "\n"


def _field_line(path: str, name: str, field: FieldInfo) -> str:
    facts = [_type_text(field.annotation), _default_text(field)]
    limits = _limits(field.metadata, field.annotation)
    if limits:
        facts.append(limits)
    nested, repeated = _nested_model(field.annotation)
    see = ""
    if nested is not None:
        target = _key(path, name) + ("[]" if repeated else "")
        see = f" See [{target}](#{_anchor(target)})."
    description = (field.description or "").strip().replace("<", "&lt;").replace(">", "&gt;")
    end = "" if description.endswith(".") else "."
    return f"- **`{name}`** ({'; '.join(facts)}): {description}{end}{see}"


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _anchor(heading: str) -> str:
    """The id Markdown renderers (GitHub, Python-Markdown's toc) give a heading: lower case, only word characters,
    hyphens and spaces kept, spaces turned into hyphens."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in "_- ")
    return kept.strip().replace(" ", "-")


# --- types, defaults, limits -----------------------------------------------------------------------------------

_NAMES = {str: "string", int: "integer", float: "number", bool: "true/false", Path: "path"}


def _union_members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _strip_annotated(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _type_text(annotation: Any) -> str:
    members = _union_members(annotation)
    return " or ".join(_one_type(m) for m in members)


def _one_type(annotation: Any) -> str:
    item_limits = ""
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        metadata = [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])]
        item_limits = _limits(metadata, base)
        annotation = base
    origin = get_origin(annotation)
    if origin is Literal:
        text = "one of " + ", ".join(f"`{_yaml(v)}`" for v in get_args(annotation))
    elif origin is list:
        text = "list of " + _type_text(get_args(annotation)[0])
    elif origin is tuple:
        text = "[" + ", ".join(_type_text(a) for a in get_args(annotation)) + "]"
    elif inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        text = "mapping"
    else:
        text = _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{text} ({item_limits})" if item_limits else text


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined:
        return "default: unset"
    if isinstance(value, BaseModel):
        return "default: its defaults"
    return f"default `{_yaml(value)}`"


def _yaml(value: object) -> str:
    if isinstance(value, Path):
        value = str(value)
    return yaml.safe_dump(value, default_flow_style=True, width=1000).removesuffix("\n...\n").strip()


_BOUNDS = ((at.Gt, "gt", ">"), (at.Ge, "ge", "≥"), (at.Lt, "lt", "<"), (at.Le, "le", "≤"))


def _limits(metadata: list[Any], annotation: Any) -> str:
    unit = "items" if any(get_origin(m) is list for m in _union_members(annotation)) else "characters"
    out = []
    for item in metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(item, kind):
                out.append(f"{sign} {getattr(item, attr)}")
        if isinstance(item, at.MinLen):
            out.append(f"at least {_count(item.min_length, unit)}")
        if isinstance(item, at.MaxLen):
            out.append(f"at most {_count(item.max_length, unit)}")
        if getattr(item, "pattern", None):
            out.append(f"matches `{item.pattern}`")
    return ", ".join(out)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit if n != 1 else unit.removesuffix('s')}"
