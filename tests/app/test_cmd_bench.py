from spa2v_app.cli import main


def test_bench_without_sources_says_where_to_point_it(tmp_path, capsys):
    assert main(["bench", "--sources", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--sources" in err and "sources.json" in err
