"""scripts/app_imports.py: the app-to-app import graph fails on a cycle, counting imports inside functions."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "app_imports.py"


@pytest.fixture(scope="module")
def app_imports() -> ModuleType:
    spec = importlib.util.spec_from_file_location("app_imports", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["app_imports"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    """A fake `hubbub` package: {"inbox/services.py": "source", ...}; every folder gets an __init__.py."""
    root = tmp_path / "hubbub"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            (root / folder / "__init__.py").touch()
        path.write_text(source)
    return root


def run(app_imports: ModuleType, root: Path, *args: str) -> int:
    return app_imports.main([str(root), *args])


def test_a_tree_passes(app_imports: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_package(
        tmp_path,
        {
            "tenancy/models.py": "from hubbub import db\n",
            "inbox/models.py": "from hubbub.tenancy.models import Org\nfrom . import helpers\n",
            "inbox/helpers.py": "",
            "workflow/services.py": "from hubbub.inbox.models import Message\nfrom hubbub.tenancy import models\n",
            "db.py": "",
            "cli.py": "from hubbub.workflow import services\n",
        },
    )
    assert run(app_imports, root) == 0
    out = capsys.readouterr().out
    assert "workflow -> inbox" in out
    assert "project -> workflow" in out
    assert "inbox -> core" not in out  # inbox imports only itself and tenancy
    assert "Cycles between apps: 0" in out


def test_a_cycle_fails_and_names_its_edges(
    app_imports: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_package(
        tmp_path,
        {
            "inbox/services.py": "from hubbub.workflow.services import approve\n",
            "workflow/services.py": "from ..crm import sync\n",
            "crm/sync.py": "import hubbub.inbox.services\n",
            "tenancy/models.py": "",
        },
    )
    assert run(app_imports, root) == 1
    out = capsys.readouterr().out
    assert "{crm, inbox, workflow}" in out
    assert "hubbub/workflow/services.py:1" in out
    assert "tenancy" not in out.split("Cycles between apps")[1].split("Layer violations")[0]
    assert run(app_imports, root, "--allow-cycles") == 0


def test_imports_inside_functions_are_edges_and_listed(
    app_imports: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_package(
        tmp_path,
        {
            "inbox/services.py": "def change_status():\n    from hubbub.workflow import sla\n",
            "workflow/sla.py": "from hubbub.inbox.models import Conversation\n",
            "inbox/models.py": "",
        },
    )
    sites = app_imports.scan(root)
    hidden = app_imports.hidden_imports(sites)
    assert [(s.src_node, s.dst_node, s.function, s.line) for s in hidden] == [("inbox", "workflow", "change_status", 2)]
    assert app_imports.app_cycles(app_imports.build_graph(sites)) == [["inbox", "workflow"]]
    assert run(app_imports, root, "--json") == 1
    dump = json.loads(capsys.readouterr().out)
    assert dump["function_level_imports"] == 1
    assert dump["cycles"][0]["apps"] == ["inbox", "workflow"]
    assert not dump["ok"]


def test_type_checking_imports_are_counted_apart_not_as_edges(app_imports: ModuleType, tmp_path: Path) -> None:
    root = make_package(
        tmp_path,
        {
            "analysis/services.py": (
                "from typing import TYPE_CHECKING\nimport typing\n"
                "if TYPE_CHECKING:\n    from hubbub.inbox.models import Message\n"
                "if typing.TYPE_CHECKING:\n    from hubbub.inbox import models\n"
                "else:\n    from hubbub.tenancy import scoping\n"
            ),
            "inbox/models.py": "from hubbub.analysis.types import Label\n",
            "analysis/types.py": "",
            "tenancy/scoping.py": "",
        },
    )
    sites = app_imports.scan(root)
    assert [s.level for s in sites if s.dst_node == "inbox"] == ["type_checking", "type_checking"]
    graph = app_imports.build_graph(sites)
    assert set(graph) == {("inbox", "analysis"), ("analysis", "tenancy")}
    assert app_imports.app_cycles(graph) == []
    assert run(app_imports, root) == 0


def test_layers_core_imports_no_app_and_nothing_imports_the_project(app_imports: ModuleType, tmp_path: Path) -> None:
    root = make_package(
        tmp_path,
        {
            "importreport.py": "from hubbub.ingest.models import QuarantinedEvent\n",
            "ingest/models.py": "from hubbub import live\n",
            "inbox/views.py": "def page():\n    from hubbub.urls import urlpatterns\n",
            "live.py": "",
            "urls.py": "from hubbub.inbox import views\n",
        },
    )
    graph = app_imports.build_graph(app_imports.scan(root))
    violations = app_imports.layer_violations(graph)
    assert [(s.source, s.target) for s in violations] == [
        ("hubbub.importreport", "hubbub.ingest.models"),
        ("hubbub.inbox.views", "hubbub.urls"),
    ]
    assert run(app_imports, root) == 1


def test_relative_imports_resolve_from_packages_and_modules(app_imports: ModuleType, tmp_path: Path) -> None:
    root = make_package(
        tmp_path,
        {
            "web/views/__init__.py": "from ...inbox import queries\n",
            "web/views/common.py": "from .. import templatetags\nfrom ..views import inbox\n",
            "inbox/queries.py": "",
            "web/templatetags.py": "",
        },
    )
    sites = app_imports.scan(root)
    assert {(s.source, s.target, s.names) for s in sites} == {
        ("hubbub.web.views", "hubbub.inbox", "queries"),
        ("hubbub.web.views.common", "hubbub.web", "templatetags"),
        ("hubbub.web.views.common", "hubbub.web.views", "inbox"),
    }
    assert {s.dst_node for s in sites} == {"inbox", "web"}
