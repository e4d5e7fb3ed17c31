from spa2v_app.cli import main


def test_bench_without_sources_says_where_to_point_it(tmp_path, capsys):
    assert main(["bench", "--sources", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--sources" in err and "sources.json" in err


def test_a_negative_seed_is_one_line(tmp_path, capsys):
    """--seed -5 ran into numpy's 'expected non-negative integer' traceback (exit 1)."""
    assert main(["bench", "--quick", "--seed", "-5", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["spa2v: --seed must be 0 or more, got -5."]
    assert not (tmp_path / "b").exists()
