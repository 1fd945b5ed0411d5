"""scripts/code_size.py: lists files over 600 lines and functions over 80, and fails when there is one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "code_size.py"


@pytest.fixture(scope="module")
def code_size() -> ModuleType:
    spec = importlib.util.spec_from_file_location("code_size", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["code_size"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def function(name: str, body_lines: int, indent: str = "") -> str:
    """A def of 1 + body_lines lines."""
    return f"{indent}def {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(body_lines))


def test_small_code_passes(code_size: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text(function("short", 79))  # 80 lines: at the limit, not over it
    assert code_size.main([str(tmp_path)]) == 0
    assert "OK: 0 file(s), 0 function(s)" in capsys.readouterr().out


def test_long_functions_and_methods_are_listed(code_size: ModuleType, tmp_path: Path) -> None:
    source = "@decorator\n" + function("long", 80) + "class Service:\n" + function("method", 90, "    ")
    source += "async def outer():\n" + function("inner", 85, "    ")
    (tmp_path / "svc.py").write_text(source)
    files, functions = code_size.measure([tmp_path], 600, 80)
    assert files == []
    found = [(f.name, f.line, f.lines) for f in functions]
    assert found == [("Service.method", 84, 91), ("outer", 175, 87), ("outer.inner", 176, 86), ("long", 2, 81)]


def test_long_files_fail_but_migrations_do_not_count(
    code_size: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text("x = 1\n" * 2000 + function("f", 200))
    assert code_size.main([str(tmp_path)]) == 0
    (tmp_path / "app" / "big.py").write_text("x = 1\n" * 601)
    assert code_size.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Files over 600 lines: 1" in out
    assert "601" in out and "big.py" in out
