"""Where benches look for the development recordings when not told: SPEC puts ``shared``
beside the repository (``../shared``), and a worktree may sit deeper."""

from engine.evaluation.sources import SOURCES_REL, default_sources_dir


def test_shared_beside_the_repository_is_found(tmp_path):
    repo = tmp_path / "work" / "main"
    repo.mkdir(parents=True)
    sources = tmp_path / "work" / SOURCES_REL
    sources.mkdir(parents=True)
    (sources / "sources.json").write_text("[]")
    assert default_sources_dir(repo) == sources
    # a worktree two levels down finds the same folder
    deeper = tmp_path / "work" / "wt" / "branch"
    deeper.mkdir(parents=True)
    assert default_sources_dir(deeper) == sources


def test_without_one_it_names_the_folder_beside_the_repository(tmp_path):
    repo = tmp_path / "main"
    repo.mkdir()
    assert default_sources_dir(repo) == tmp_path / SOURCES_REL
