"""The package's dependency directions (docs: internals): app/CLI -> edge, rights, read side -> pipeline,
durability -> store -> settings. The graph is read from the source (tests/layering.py), so a new import
anywhere, even inside a function, is checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from layering import PACKAGE, cycles, graph, modules, reaches

EDGES = graph()
HTTP = {"starlette", "uvicorn", "httpx", "h11", "httptools"}
# The ingest edge: HTTP in, requests parsed, processes and their hand-off.
EDGE = {"collector.app", "collector.cli", "collector.ingest", "collector.request", "collector.http_edge",
        "collector.connections", "collector.proxy", "collector.handoff", "collector.workers",
        "collector.visitor", "collector.serving", "collector.state", "collector.admin"}
READ = {m for m in EDGES if m.startswith("collector.read")}


def test_the_graph_sees_every_module_and_the_known_edges() -> None:
    assert set(EDGES) == set(modules())
    assert "collector.pipeline" in EDGES["collector.rights"]
    assert "collector.pseudonyms" in EDGES["collector.pipeline"]
    assert "collector.http_edge" in EDGES["collector.serving"]  # an import inside a function counts


def test_no_import_cycle() -> None:
    assert cycles(EDGES) == []


def test_the_pipeline_never_reaches_the_read_side_http_or_the_edge() -> None:
    below = reaches(EDGES, "collector.pipeline")
    assert below & (READ | HTTP | EDGE) == set()
    assert "collector.store" not in below  # the pipeline decides; the writer stores


def test_the_store_never_reaches_the_pipeline() -> None:
    below = reaches(EDGES, "collector.store")
    assert below & {"collector.pipeline", "collector.writer", "collector.ingest", *READ} == set()


@pytest.mark.parametrize("module", sorted(READ))
def test_the_read_side_never_reaches_the_ingest_edge(module: str) -> None:
    assert reaches(EDGES, module) & (EDGE - {"collector.admin"}) == set()


def test_rights_and_pipeline_share_one_public_hash() -> None:
    for user in ("collector.pipeline", "collector.rights", "collector.visitor"):
        assert "collector.pseudonyms" in EDGES[user]
    assert "_hash64" not in (PACKAGE / "pipeline.py").read_text()


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A package with a cycle through a function-level import and a TYPE_CHECKING import is caught."""
    pkg = tmp_path / "collector"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import h\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "d.py").write_text("import starlette\n")
    edges = graph(pkg)
    assert cycles(edges) == [["collector.a", "collector.b", "collector.c"]]
    assert "starlette" in reaches(edges, "collector.d")
