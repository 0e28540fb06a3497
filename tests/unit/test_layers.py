"""Issue 12 §6: every module of textwire has a place in the layer map.

import-linter's layers contract (pyproject.toml) checks the modules it names; a new module
named in no layer would escape it. This test reads the contract and fails on such a module,
so a new file gets a layer when it is written.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _layered() -> list[str]:
    config = tomllib.loads(PYPROJECT.read_text())
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    names: list[str] = []
    for layer in contract["layers"]:
        names += [part.strip() for part in layer.replace("|", ":").split(":")]
    return names


def _covered(module: str, layered: list[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in layered)


def test_every_module_is_in_one_layer() -> None:
    graph = grimp.build_graph("textwire")
    layered = _layered()
    # A package's __init__ holding nothing but a docstring is a container, not a module
    # with imports of its own; those with a parent in a layer are covered by it anyway.
    packages = {m for m in graph.modules if graph.find_children(m)}
    missing = sorted(m for m in graph.modules - packages if not _covered(m, layered))
    assert not missing, f"modules in no layer of the layers contract: {missing}"
    twice = sorted({n for n in layered if layered.count(n) > 1})
    assert not twice, f"modules named in more than one layer: {twice}"


def test_the_check_sees_a_module_outside_every_layer() -> None:
    assert not _covered("textwire.nowhere", _layered())
    assert _covered("textwire.commands.keys", _layered())
