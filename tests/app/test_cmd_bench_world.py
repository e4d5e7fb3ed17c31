from spa2v_app.cli import main


def test_bench_mic_needs_a_set(tmp_path, capsys):
    assert main(["bench", "--mic", "xy90", "--out", str(tmp_path)]) == 2
    assert "--set" in capsys.readouterr().err


def test_bench_refuses_a_microphone_of_the_other_set(tmp_path, capsys):
    # The spherical head is held out: tuning runs never hear it.
    assert main(["bench", "--set", "tune", "--mic", "sphere", "--no-tagger",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "sphere" in err and "kemar" in err
