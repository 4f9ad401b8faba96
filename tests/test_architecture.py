"""Layering (DESIGN §3): imports point inward only. Read statically from the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("hardened", "authority", "pki", "benchmarks")

#: What each inner layer of hardened may import from hardened itself.
INWARD = {
    "hardened/jose": {"hardened.errors", "hardened.jose"},
    "hardened/core": {"hardened.errors", "hardened.jose", "hardened.core", "hardened.settings"},
    "hardened/ports": {"hardened.errors", "hardened.jose", "hardened.core", "hardened.ports", "hardened.settings"},
}
#: hardened/core is pure: no web, HTTP, storage, process, network or clock-reading modules.
CORE_FORBIDDEN = {
    "fastapi", "starlette", "uvicorn", "httpx", "httpx2", "requests", "aiohttp", "mcp", "sqlite3", "redis",
    "psycopg", "socket", "ssl", "urllib.request", "http", "asyncio", "os", "subprocess", "time", "datetime",
    "threading", "multiprocessing", "hardened.clock", "pathlib", "shutil", "tempfile", "logging",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(*tops: str) -> list[Path]:
    return [p for top in tops for p in (ROOT / top).rglob("*.py")]


def _hits(imported: set[str], banned: set[str]) -> set[str]:
    return {m for m in imported for b in banned if m == b or m.startswith(b + ".")}


@pytest.mark.requirement("HP-JOSE-05")
def test_only_hardened_jose_imports_jwcrypto() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in _files(*SHIPPED)
        if _hits(_imports(p), {"jwcrypto"}) and not p.relative_to(ROOT).as_posix().startswith("hardened/jose/")
    ]
    assert not offenders, offenders


def test_core_does_no_io_and_reads_no_clock() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_hits(_imports(p), CORE_FORBIDDEN)) for p in _files("hardened/core")}
    assert not {k: v for k, v in offenders.items() if v}


def test_inner_layers_import_inward_only() -> None:
    bad: dict[str, list[str]] = {}
    for layer, allowed in INWARD.items():
        for path in _files(layer):
            own = {m for m in _imports(path) if m == "hardened" or m.startswith("hardened.")}
            wrong = sorted(m for m in own if not any(m == a or m.startswith(a + ".") for a in allowed))
            if wrong:
                bad[str(path.relative_to(ROOT))] = wrong
    assert not bad, bad
