"""Measures the code base's shape from src/maskwatch: files over 400 lines, functions over 60, and import cycles
between sub-packages (every import counts, those inside functions too).

    python scripts/check_structure.py            # all three, exit 1 when any is found
    python scripts/check_structure.py --cycles   # only the import cycles
    python scripts/check_structure.py PATH ...   # sizes of these files (or folders) only
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "maskwatch"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def python_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def long_files(files: list[Path]) -> list[tuple[Path, int]]:
    counts = [(f, len(f.read_text(encoding="utf-8").splitlines())) for f in files]
    return [(f, n) for f, n in counts if n > MAX_FILE_LINES]


def long_functions(files: list[Path]) -> list[tuple[Path, str, int]]:
    out = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out.append((f, node.name, lines))
    return out


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "maskwatch" else None


def package_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """{sub-package: the other sub-packages its modules import}; top-level modules (cli.py, ...) count as their own."""
    graph: dict[str, set[str]] = {}
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        here = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        package = ["maskwatch", *rel.with_suffix("").parts]
        if package[-1] == "__init__":
            package.pop()
        targets = graph.setdefault(here, set())
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package
                    base = ".".join([*package[: len(package) - node.level + (f.name == "__init__.py")], base])
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                target = _subpackage(name)
                if target and target != here and (root / target).exists() | (root / f"{target}.py").exists():
                    targets.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle once, as the list of packages along it (the first repeated at the end)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle from its smallest member only
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path, help="files or folders to measure (default: src/maskwatch)")
    ap.add_argument("--cycles", action="store_true", help="only the import cycles between sub-packages")
    args = ap.parse_args()
    problems = 0
    if not args.cycles:
        files = python_files(args.paths or [ROOT])
        for f, n in long_files(files):
            print(f"{f}: {n} lines (more than {MAX_FILE_LINES})")
            problems += 1
        for f, name, n in long_functions(files):
            print(f"{f}: {name}() is {n} lines (more than {MAX_FUNCTION_LINES})")
            problems += 1
    if args.cycles or not args.paths:
        for cycle in cycles(package_imports()):
            print("import cycle: " + " -> ".join(cycle))
            problems += 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
