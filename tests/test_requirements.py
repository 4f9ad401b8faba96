"""Traceability, both ways: every requirement in specs/requirements has a test; every marker names a requirement."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ID = re.compile(r"HP-[A-Z]+-\d{2,3}")
LEVELS = {"MUST", "SHOULD", "POLICY"}


def _requirements() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted((ROOT / "specs" / "requirements").glob("*.toml")):
        with path.open("rb") as fh:
            for req in tomllib.load(fh).get("requirement", []):
                assert req["id"] not in out, f"duplicate requirement id {req['id']} in {path.name}"
                out[req["id"]] = req | {"_file": path.name}
    return out


def _markers() -> dict[str, set[str]]:
    """Requirement ids named by ``pytest.mark.requirement(...)`` anywhere in tests/, read statically."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "requirement"):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.requirement("HP-JOSE-14")
def test_requirements_are_well_formed() -> None:
    reqs = _requirements()
    assert reqs, "no requirements found"
    for rid, req in reqs.items():
        assert ID.fullmatch(rid), rid
        assert req.get("title"), rid
        assert req.get("level") in LEVELS, rid
        assert req.get("source"), rid
        if req["level"] == "POLICY":
            assert req.get("decision"), f"{rid}: a POLICY requirement records its decision"
        if "decision" in req and ID.fullmatch(req["decision"]):
            assert req["decision"] in reqs, f"{rid} refers to unknown decision {req['decision']}"


def test_every_requirement_has_a_test() -> None:
    missing = sorted(set(_requirements()) - set(_markers()))
    assert not missing, f"requirements without a test: {missing}"


def test_every_marker_names_a_requirement() -> None:
    unknown = {rid: sorted(files) for rid, files in _markers().items() if rid not in _requirements()}
    assert not unknown, f"markers naming unknown requirements: {unknown}"
