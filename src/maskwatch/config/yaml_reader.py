"""Reading the config's YAML strictly: a key given twice, a recursive alias, an alias bomb or absurd nesting is an
error with its line, found while the document is composed, before anything expands it.

Anchors and aliases stay allowed (`zones: *shared`, `<<: *defaults`): only what they add is counted.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 50  # a config is a handful of levels deep; this keeps every recursive step below far from the limit
ALIAS_BUDGET = 100_000  # nodes that aliases may add by repeating their anchors (a real config needs hundreds)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigYAMLError(yaml.MarkedYAMLError):
    """YAML that parses but that a config refuses; `problem` says why, `problem_mark` where."""

    def __init__(self, problem: str, mark: Any):  # a yaml.error.Mark, or its C twin from yaml._yaml
        super().__init__(problem=problem, problem_mark=mark)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys at any depth, recursive aliases, aliases that expand past
    ALIAS_BUDGET nodes, and nesting deeper than MAX_DEPTH (counted with the aliases expanded)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._open_anchors: set[str] = set()
        self._expanded: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, depth) with its aliases expanded
        self._aliased_nodes = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise ConfigYAMLError(
                    f"alias *{event.anchor} is inside its own anchor (a recursive alias)", event.start_mark
                )
            node = super().compose_node(parent, index)
            self._aliased_nodes += self._expanded.get(id(node), (1, 1))[0]
            if self._aliased_nodes > ALIAS_BUDGET:
                raise ConfigYAMLError(
                    f"aliases expand to more than {ALIAS_BUDGET} values (an alias bomb?): repeat less",
                    event.start_mark,
                )
            return node
        if self._depth >= MAX_DEPTH:
            raise ConfigYAMLError(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        sizes = [self._expanded.get(id(child), (1, 1)) for child in children]
        nodes, depth = 1 + sum(n for n, _ in sizes), 1 + max((d for _, d in sizes), default=0)
        if depth > MAX_DEPTH:
            raise ConfigYAMLError(f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", node.start_mark)
        self._expanded[id(node)] = (nodes, depth)

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[object, ScalarNode] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue  # keys merged in with `<<:` may be overridden; that is what merging is for
            value = self.construct_object(key)
            try:
                first = seen.setdefault(value, key)
            except TypeError:  # an unhashable key: the constructor refuses it with its own message
                continue
            if first is not key:
                raise ConfigYAMLError(
                    f"key {key.value!r} is given twice (first on line {first.start_mark.line + 1}): the second would "
                    "silently replace the first",
                    key.start_mark,
                )
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
            # PyYAML's constructors fail with these on odd input: `!!int abc`, `!!bool maybe`, `2001-02-30`, ...
            shown = node.value if isinstance(node, ScalarNode) else getattr(node, "id", "node")
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            raise ConfigYAMLError(f"cannot read {_short(shown)!r} as {tag}", node.start_mark) from None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_yaml(text: str) -> tuple[Node | None, object]:
    """The document's node tree (for line numbers) and its data; yaml.YAMLError (ConfigYAMLError included) when
    the text is not YAML a config may be."""
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data
