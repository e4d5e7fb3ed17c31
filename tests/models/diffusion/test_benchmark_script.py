"""benchmarks/render_gpu.py: its CPU dry run works and it refuses a full run without CUDA."""

from __future__ import annotations

import pytest

from tests.benchscripts import benchmark_module

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("render_gpu") as module:
        yield module


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA machine runs the real thing")
def test_without_cuda_a_full_run_says_so_and_exits_2(bench, capsys):
    assert bench.main([]) == 2
    assert "No CUDA GPU" in capsys.readouterr().err


def test_tiny_dry_run_fills_the_table(bench, capsys, tmp_path):
    rows_file = tmp_path / "rows.json"
    assert bench.main(["--tiny", "--frames", "2", "--steps", "1", "--tiers",
                       "gpu" if torch.cuda.is_available() else "cpu",
                       "--json", str(rows_file)]) == 0
    out = capsys.readouterr().out
    assert "| run | tier | grounding | s / clip |" in out
    for grounding in ("stock", "off", "on"):
        assert f"| {grounding} |" in out
    assert "grounding costs" in out
    assert rows_file.read_text().count('"seconds"') == 3


def test_full_size_configs_match_sd15_and_animatediff_v3(bench):
    from accelerate import init_empty_weights
    from diffusers import MotionAdapter, UNet2DConditionModel

    with init_empty_weights():
        unet = UNet2DConditionModel(**bench.SD15_UNET)
        adapter = MotionAdapter(**bench.ADAPTER_V3)
    millions = [round(sum(p.numel() for p in m.parameters()) / 1e6) for m in (unet, adapter)]
    assert millions == [860, 417]


def test_cpu_real_shape_mode_runs_its_rows_on_tiny_models(bench, capsys, tmp_path):
    """--cpu-real-shape hands over to render_cpu_real.py; with --tiny it runs every row (the
    real sizes take minutes and about 10 GB of RAM: docs/benchmarks.md)."""
    rows_file = tmp_path / "rows.json"
    assert bench.main(["--cpu-real-shape", "--tiny", "--size", "64", "--frames", "4",
                       "--steps", "1", "--context", "2", "--json", str(rows_file)]) == 0
    out = capsys.readouterr().out
    assert "grounding overhead (CPU time per step)" in out
    import json
    runs = json.loads(rows_file.read_text())
    assert [r["grounding"] for r in runs] == ["stock", "off", "on", "on"]
    assert all(r["step_cpu_s"] > 0 and r["decode_peak_gb"] > 0 for r in runs)
    assert runs[2]["grounded_layers"] == runs[1]["grounded_layers"] > 0
    assert any("FreeNoise" in n for n in runs[3]["notes"])
