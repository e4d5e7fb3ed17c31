"""docs/hearing.md's constants tables say the value of each named constant; the code is its
one home. A constant changed in the code but not in the docs (or the other way round) fails
here, so the docs keep in step with the code."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "hearing.md"
# Where the hearing's constants live (engine/cues and the two shared homes it imports).
PACKAGES = ("engine.cues",)
MODULES = ("engine.acoustics", "engine.audio.stereo_kinds")

NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")
QUALIFIER = re.compile(r"\(([a-z_]+)\)")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _modules() -> dict[str, object]:
    out = {m: importlib.import_module(m) for m in MODULES}
    for pkg in PACKAGES:
        p = importlib.import_module(pkg)
        for info in pkgutil.iter_modules(p.__path__):
            out[f"{pkg}.{info.name}"] = importlib.import_module(f"{pkg}.{info.name}")
    return out


def _rows() -> list[tuple[int, list[str], str | None, str]]:
    """(line, constant names, module qualifier, value cell) of every table row whose first
    cell names constants."""
    rows = []
    for i, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        names = NAME.findall(cells[0])
        rest = QUALIFIER.sub("", NAME.sub("", cells[0])).strip(" ,")
        if not names or rest:
            continue  # a row about something else that merely mentions a constant
        q = QUALIFIER.search(cells[0])
        rows.append((i, names, q.group(1) if q else None, cells[1]))
    return rows


def _value(name: str, qualifier: str | None, modules: dict) -> object:
    """The constant's value from its home; several modules defining it differently must be
    told apart in the docs by a qualifier, ``(spatial)``."""
    found = {m: getattr(mod, name) for m, mod in modules.items()
             if name in vars(mod) and _defined_in(mod, name)}
    if qualifier is not None:
        found = {m: v for m, v in found.items() if m.rsplit(".", 1)[-1] == qualifier}
    assert found, f"docs/hearing.md names {name} ({qualifier or 'no module'}), which no module defines"
    values = list(found.values())
    assert all(np.array_equal(np.asarray(v), np.asarray(values[0])) for v in values), (
        f"{name} has different values in {sorted(found)}; qualify it in docs/hearing.md")
    return values[0]


def _defined_in(mod, name: str) -> bool:
    """Defined at module level in ``mod``'s own source, not imported into it."""
    src = Path(mod.__file__).read_text(encoding="utf-8")
    return re.search(rf"^(?:{name}\b.*=|[A-Z0-9_, ]*\b{name}\b[A-Z0-9_, ]*=)", src, re.M) is not None


def _numbers(v: object) -> list[float] | None:
    a = np.asarray(v)
    if a.dtype.kind not in "iuf":
        return None
    return [float(x) for x in a.ravel()]


def test_the_docs_constants_tables_are_found():
    # Guards the parser itself: if the tables' layout changes, this test says so instead of
    # the comparison silently checking nothing.
    assert len(_rows()) >= 15


@pytest.mark.parametrize("line,names,qualifier,cell", _rows(),
                         ids=[",".join(r[1]) for r in _rows()])
def test_docs_constant_matches_the_code(line, names, qualifier, cell):
    modules = _modules()
    values = [_value(n, qualifier, modules) for n in names]
    nums = [_numbers(v) for v in values]
    if any(n is None for n in nums):
        # Text constants (pan-law names): each value must be written in the cell.
        for v in values:
            for item in np.atleast_1d(np.asarray(v, dtype=object)):
                assert f"`{item}`" in cell, f"docs/hearing.md:{line}: {cell!r} lacks `{item}`"
        return
    written = [float(x) for x in NUMBER.findall(cell.replace("deg/s", ""))]
    flat = [x for n in nums for x in n]
    if len(flat) > 2 and len(names) == 1:
        # A grid written as "first-last in step steps".
        grid = np.asarray(flat)
        step = float(np.median(np.diff(grid)))
        assert written[:3] == pytest.approx([grid[0], grid[-1], step]), (
            f"docs/hearing.md:{line}: {cell!r} against {names[0]} = {flat}")
        return
    assert written[:len(flat)] == pytest.approx(flat), (
        f"docs/hearing.md:{line}: {cell!r} against {dict(zip(names, values))}")


INLINE = re.compile(r"`([A-Z][A-Z0-9_]+)` = (-?\d+(?:\.\d+)?(?:e-?\d+)?)(?![\d.])")


def _inline() -> list[tuple[int, str, float]]:
    """``NAME` = value`` in the prose: how the docs state a constant's present value (tried
    values are written otherwise, '`NAME` 0.35' or '0.5 -> 0.35')."""
    out = []
    for i, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        out += [(i, m.group(1), float(m.group(2))) for m in INLINE.finditer(line)]
    return out


@pytest.mark.parametrize("line,name,written", _inline(), ids=[r[1] for r in _inline()])
def test_docs_inline_constant_matches_the_code(line, name, written):
    # Stated without a module, so it must be the value of one of the modules defining it
    # (SIGMA_ILD_DB: the step table's 2 dB, the per-bin model's 3 dB).
    homes = {m: getattr(mod, name) for m, mod in _modules().items()
             if name in vars(mod) and _defined_in(mod, name)}
    assert homes, f"docs/hearing.md:{line} states {name} = {written}; no module defines it"
    assert any(np.asarray(v).size == 1 and float(v) == pytest.approx(written)
               for v in homes.values()), f"docs/hearing.md:{line}: {name} = {written}, code {homes}"
