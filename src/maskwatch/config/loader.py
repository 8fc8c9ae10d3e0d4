"""From a YAML file to an AppConfig: strict YAML, `${VAR}` from the environment, then the models; every error is
one line that names the file, the line and the key at fault."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from maskwatch.config.app import AppConfig
from maskwatch.config.yaml_reader import ConfigYAMLError, read_yaml
from maskwatch.core.errors import UserError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def parse_config(text: str, source: str = "<config>") -> AppConfig:
    """The config in `text`; UserError with one line `source:LINE: where: what` when it is not a valid one."""
    root, data = _read(text, source)
    if not isinstance(data, dict):
        raise UserError(f"{source}:1: the config must be a mapping with at least 'cameras:'")
    try:
        data = _expand_env(data)
    except _UnsetVariableError as err:
        raise UserError(_at(source, root, err.loc, f"environment variable {err.name} is not set")) from None
    try:
        return AppConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(p for p in first["loc"] if not _is_union_tag(p))
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise UserError(_at(source, root, loc, first["msg"].removeprefix("Value error, ") + more)) from None


def load_config(path: str | Path) -> AppConfig:
    """The config file at `path`, its relative paths taken from the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config {path}: {err}") from None
    return parse_config(text, str(path)).resolve_paths(path.resolve().parent)


def dump_config(config: AppConfig) -> str:
    """The config as YAML, values left at their defaults left out; parse_config reads it back as the same config."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --- YAML ------------------------------------------------------------------------------------------------------


def _read(text: str, source: str) -> tuple[yaml.Node | None, object]:
    try:
        return read_yaml(text)
    except ConfigYAMLError as err:
        line = f":{err.problem_mark.line + 1}" if err.problem_mark else ""
        raise UserError(f"{source}{line}: {one_line(err.problem or str(err))}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{source}{line}: YAML syntax error: {one_line(err.problem or str(err))}") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow; it knows the offset, not the line
        line_number = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        raise UserError(f"{source}:{line_number}: YAML error: character #x{code:04x} is not allowed") from None
    except yaml.YAMLError as err:
        raise UserError(f"{source}: YAML error: {one_line(str(err))}") from None
    except RecursionError:  # StrictLoader stops nesting long before this; kept so that no traceback can get out
        raise UserError(f"{source}: YAML error: nested too deeply") from None


# --- ${VAR} ----------------------------------------------------------------------------------------------------


class _UnsetVariableError(Exception):
    def __init__(self, loc: tuple[str | int, ...], name: str):
        self.loc, self.name = loc, name


def _expand_env(value: object, loc: tuple[str | int, ...] = ()) -> object:
    """`${NAME}` in any string value takes NAME's value from the environment, so that secrets (passwords, tokens)
    can stay out of the file. Zones saved from the UI rewrite the file, never these values."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            if match[1] not in os.environ:
                raise _UnsetVariableError(loc, match[1])
            return os.environ[match[1]]

        return _ENV_REF.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*loc, i)) for i, v in enumerate(value)]
    return value


# --- error messages --------------------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters written as escapes, so that it stays one line."""
    return _LINE_BREAKING.sub(lambda m: repr(m[0])[1:-1], text)


def _at(source: str, root: yaml.Node | None, loc: tuple, message: str) -> str:
    node = _node_at(root, loc)
    line = f":{node.start_mark.line + 1}" if node is not None else ""
    return f"{source}{line}: {one_line(_dotted(loc))}: {one_line(message)}"


def _node_at(root: yaml.Node | None, loc: tuple) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location (keys and list indices)."""
    node = root
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
            if nxt is None:  # a key that is missing or not allowed: point at the key itself if it exists
                return next((k for k, v in node.value if k.value == str(key)), node)
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _dotted(loc: tuple) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def _is_union_tag(part: object) -> bool:
    """pydantic puts the union member tried into the error location ('str', 'int', 'function-after[...]')."""
    return isinstance(part, str) and (part in {"str", "int", "float", "bool", "none"} or "[" in part)
