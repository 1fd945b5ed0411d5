"""Files and functions too long to read in one sitting; exits 1 if there is any.

Every `.py` file under the given roots (default `src/`; `migrations/` folders left out) is read with `ast`.
A file counts its lines; a function or method counts from its `def` line to its last line (decorators
not included), nested functions counted on their own as well as inside their parent.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "src"


@dataclass(frozen=True)
class Long:
    """A file (name empty) or a function over its limit."""

    file: str
    line: int
    name: str
    lines: int


def python_files(roots: list[Path]) -> list[Path]:
    files = {path for root in roots for path in root.rglob("*.py") if "migrations" not in path.parts}
    return sorted(files)


def long_functions(tree: ast.AST, limit: int, file: str) -> list[Long]:
    found: list[Long] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    size = (child.end_lineno or child.lineno) - child.lineno + 1
                    if size > limit:
                        found.append(Long(file, child.lineno, name, size))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _by_size(item: Long) -> tuple[int, str, int]:
    return (-item.lines, item.file, item.line)


def measure(roots: list[Path], max_file: int, max_function: int) -> tuple[list[Long], list[Long]]:
    """The files over `max_file` lines and the functions over `max_function` lines, longest first."""
    files: list[Long] = []
    functions: list[Long] = []
    for path in python_files(roots):
        try:
            shown = str(path.relative_to(Path.cwd()))
        except ValueError:
            shown = str(path)
        text = path.read_text(encoding="utf-8")
        count = len(text.splitlines())
        if count > max_file:
            files.append(Long(shown, 1, "", count))
        functions.extend(long_functions(ast.parse(text, filename=str(path)), max_function, shown))
    return sorted(files, key=_by_size), sorted(functions, key=_by_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("roots", nargs="*", type=Path, default=[DEFAULT_ROOT], help="folders to read (default src/)")
    parser.add_argument("--max-file-lines", type=int, default=MAX_FILE_LINES)
    parser.add_argument("--max-function-lines", type=int, default=MAX_FUNCTION_LINES)
    args = parser.parse_args(argv)
    files, functions = measure([root.resolve() for root in args.roots], args.max_file_lines, args.max_function_lines)
    print(f"Files over {args.max_file_lines} lines: {len(files)}")
    for item in files:
        print(f"  {item.lines:5}  {item.file}")
    print(f"\nFunctions over {args.max_function_lines} lines: {len(functions)}")
    for item in functions:
        print(f"  {item.lines:5}  {item.file}:{item.line}  {item.name}")
    failed = bool(files or functions)
    print(f"\n{'FAIL' if failed else 'OK'}: {len(files)} file(s), {len(functions)} function(s) over the limits")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
