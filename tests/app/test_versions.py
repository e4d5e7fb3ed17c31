"""Both faces say their version, the one pip installed (pyproject reads engine.__version__)."""

from __future__ import annotations

import pytest

from engine import __version__


@pytest.mark.parametrize("face", ["spa2v_app.cli", "spa2v_app.studio.app"])
def test_version(face, capsys):
    import importlib

    parser = importlib.import_module(face).build_parser()
    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f" {__version__}")
