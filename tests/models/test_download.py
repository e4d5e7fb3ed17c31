"""Downloads against a fake hub on 127.0.0.1: normal, dropped connection, corruption, no disk,
offline, cancel. In every failure, nothing half-written is left where a model is expected."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.errors import Cancelled, ModelMissing
from engine.jobs import CancelToken, Log, Progress, run_job
from models import download
from models.download import DownloadError, ModelCorrupt, NotEnoughDisk, download_job
from models.registry import hf_repo_folder, list_statuses, locate

from .conftest import DIFF_REPO, GGUF_NAME, LLM_REPO, UNET, sha256


def _run(name, registry, paths, **kw):
    events = []
    loc = run_job(download_job(name, registry=registry, paths=paths, **kw), events.append)
    return loc, events


def _cache_files(paths, repo) -> list[str]:
    """Everything under the repo's cache folder except huggingface_hub's lock files."""
    root = hf_repo_folder(paths.hf_cache_dir, repo)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()) \
        if root.exists() else []


def _no_model_files(paths, repo):
    """Nothing where a model is expected (snapshots) and no partial download (blobs)."""
    files = _cache_files(paths, repo)
    assert not [f for f in files if f.startswith("snapshots/")], files
    assert not [f for f in files if f.startswith("blobs/")], files


def test_download_fetches_every_file_verifies_and_reports_progress(hub, registry, model_env, tiny_files):
    loc, events = _run("tiny-diffusers", registry, model_env)

    assert loc.kind == "hf-cache" and loc.complete_for(registry.get("tiny-diffusers"))
    for rel in ("model_index.json", "unet/config.json", UNET):
        assert loc.files[rel].read_bytes() == tiny_files[rel]
    progress = [e for e in events if isinstance(e, Progress)]
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("of 2.0 MB" in p.detail for p in progress)
    # Unpinned files are still checked: against the hub's own hash (ETag), and say so.
    assert sum("verified against the hub's hash" in e.message for e in events if isinstance(e, Log)) == 3
    statuses = {s.name: s for s in list_statuses(model_env, registry=registry)}
    assert statuses["tiny-diffusers"].state == "installed"
    assert statuses["tiny-diffusers"].bytes_on_disk == sum(len(v) for k, v in tiny_files.items() if k != GGUF_NAME)


def test_files_already_downloaded_are_reused_without_touching_the_network(hub, registry, model_env):
    _run("tiny-llm", registry, model_env)
    hub.requests.clear()
    loc, events = _run("tiny-llm", registry, model_env)
    assert hub.requests == []
    assert loc.kind == "hf-cache"
    assert any("already installed" in e.message for e in events if isinstance(e, Log))


def test_a_corrupt_file_is_fetched_again_by_a_plain_download(hub, registry, model_env, tiny_files):
    """'models list' says corrupt and the studio's row offers Download: that download used to
    answer 'already installed; nothing to download' and leave the broken file."""
    loc, _ = _run("tiny-llm", registry, model_env)
    cut = loc.path().resolve()
    cut.write_bytes(tiny_files[GGUF_NAME][:3000])  # a cut-short copy in the cache
    assert {s.name: s for s in list_statuses(model_env, registry=registry)}["tiny-llm"].state == "corrupt"
    hub.requests.clear()
    loc, events = _run("tiny-llm", registry, model_env)
    assert not any("already installed" in e.message for e in events if isinstance(e, Log))
    assert len(hub.gets(GGUF_NAME)) == 1
    assert sha256(loc.path().read_bytes()) == sha256(tiny_files[GGUF_NAME])
    assert {s.name: s for s in list_statuses(model_env, registry=registry)}["tiny-llm"].state == "installed"


def test_dropped_connection_resumes_with_a_range_request(hub, registry, model_env, tiny_files, monkeypatch):
    # huggingface_hub writes (and so can resume) in 10 MB chunks; this test file is 2.4 MB.
    import huggingface_hub.constants as hf_constants
    monkeypatch.setattr(hf_constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    size = len(tiny_files[GGUF_NAME])
    hub.drop_after[GGUF_NAME] = size // 2

    loc, _ = _run("tiny-llm", registry, model_env)

    gets = hub.gets(GGUF_NAME)
    assert len(gets) == 2 and gets[0][2] is None
    resumed_at = int(gets[1][2].removeprefix("bytes=").split("-")[0])
    assert 0 < resumed_at <= size // 2  # continued, not started over
    assert sha256(loc.path().read_bytes()) == sha256(tiny_files[GGUF_NAME])


def test_a_wrong_file_is_caught_by_the_pinned_sha256_and_removed(hub, registry, model_env, tiny_files):
    # The hub serves a different, self-consistent file (its own ETag matches it): only the
    # registry's pin can tell.
    wrong = bytearray(tiny_files[GGUF_NAME])
    wrong[-1] ^= 0xFF
    hub.add_repo(LLM_REPO, {GGUF_NAME: bytes(wrong)})

    with pytest.raises(ModelCorrupt) as err:
        _run("tiny-llm", registry, model_env)

    assert GGUF_NAME in str(err.value) and "tiny-llm" in str(err.value)
    assert "spa2v models download tiny-llm" in str(err.value)
    _no_model_files(model_env, LLM_REPO)
    assert locate("tiny-llm", model_env, registry=registry) is None


def test_damage_in_transit_is_caught_by_the_hub_hash_when_unpinned(hub, registry, model_env):
    hub.damaged.add(UNET)
    with pytest.raises(ModelCorrupt, match="unet/diffusion_pytorch_model.fp16.safetensors"):
        _run("tiny-diffusers", registry, model_env)
    files = _cache_files(model_env, DIFF_REPO)
    assert "snapshots/" not in " ".join(f for f in files if UNET.split("/")[-1] in f)
    statuses = {s.name: s for s in list_statuses(model_env, registry=registry)}
    assert statuses["tiny-diffusers"].state == "partial"  # the two good files stay

    hub.damaged.clear()  # running the download again fetches only what is missing
    hub.requests.clear()
    _run("tiny-diffusers", registry, model_env)
    assert [r[1].split("/resolve/main/")[1] for r in hub.gets()] == [UNET]


def test_a_branch_that_moved_since_an_unfinished_download_ends_in_one_snapshot(hub, registry, model_env,
                                                                               tiny_files):
    hub.damaged.add(UNET)
    with pytest.raises(ModelCorrupt):
        _run("tiny-diffusers", registry, model_env)
    # Meanwhile "main" gets a new commit that changes one small file.
    files = {p: tiny_files[p] for p in ("model_index.json", "unet/config.json", UNET)}
    files["unet/config.json"] = b'{"sample_size": 16}'
    new_commit = hub.add_repo(DIFF_REPO, files)
    hub.damaged.clear()
    hub.requests.clear()

    loc, _ = _run("tiny-diffusers", registry, model_env)

    assert loc.revision == new_commit and loc.files["unet/config.json"].read_bytes() == files["unet/config.json"]
    fetched = sorted(r[1].rsplit("/", 1)[-1] for r in hub.gets())
    assert fetched == ["config.json", "diffusion_pytorch_model.fp16.safetensors"]  # model_index.json reused
    ref = hf_repo_folder(model_env.hf_cache_dir, DIFF_REPO) / "refs" / "main"
    assert ref.read_text() == new_commit


def test_not_enough_disk_is_refused_before_any_download(hub, registry, model_env, monkeypatch):
    monkeypatch.setattr(download, "free_bytes", lambda folder: 10_000)
    with pytest.raises(NotEnoughDisk) as err:
        _run("tiny-diffusers", registry, model_env)
    assert "needs 2.0 MB" in str(err.value) and "HF_HUB_CACHE" in str(err.value)
    assert hub.gets() == []
    _no_model_files(model_env, DIFF_REPO)


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.filterwarnings("ignore:Not enough free disk space:UserWarning")
def test_disk_filling_up_midway_leaves_nothing_behind(hub, registry, model_env, small_tmpfs, monkeypatch):
    # The free-space figure said yes (another program filled the disk meanwhile): the write
    # fails with ENOSPC, and the error says so.
    monkeypatch.setattr(download, "free_bytes", lambda folder: 10**12)
    paths = type(model_env)(model_env.models_dir, small_tmpfs / "hf-cache")
    with pytest.raises(NotEnoughDisk, match="disk filled up while downloading tiny-q4.gguf"):
        _run("tiny-llm", registry, paths)
    _no_model_files(paths, LLM_REPO)


def test_offline_mode_never_touches_the_network(hub, registry, model_env, monkeypatch):
    _run("tiny-llm", registry, model_env)  # one model installed while online
    hub.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    with pytest.raises(ModelMissing) as err:
        _run("tiny-diffusers", registry, model_env)
    assert "HF_HUB_OFFLINE" in str(err.value) and "docs/models.md" in str(err.value)
    loc, _ = _run("tiny-llm", registry, model_env)  # installed: found, not fetched
    assert loc.kind == "hf-cache"
    list_statuses(model_env, registry=registry)
    from models.verify import verify_job
    run_job(verify_job("tiny-llm", registry=registry, paths=model_env))
    assert hub.requests == []


def test_cancel_in_the_middle_leaves_nothing_behind(hub, registry, model_env, monkeypatch):
    import huggingface_hub.constants as hf_constants
    monkeypatch.setattr(hf_constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)  # progress every 64 kB
    hub.throttle_s = 0.02  # 64 kB every 20 ms: about 0.6 s for the 2 MB file
    token = CancelToken()
    job = download_job("tiny-diffusers", registry=registry, paths=model_env, token=token)

    def cancel_on_first_bytes(event):
        if isinstance(event, Progress) and "3/3" in event.detail and "of 2.0 MB" in event.detail:
            token.cancel()

    with pytest.raises(Cancelled):
        run_job(job, cancel_on_first_bytes)
    assert len(hub.gets(UNET)) == 1 and token.cancelled
    served = hub.served.get(UNET, 0)
    assert served < len(hub.repos[DIFF_REPO]["files"][UNET])  # stopped in the middle
    files = _cache_files(model_env, DIFF_REPO)
    assert not [f for f in files if f.endswith(".incomplete")], files
    assert not [f for f in files if f.endswith("fp16.safetensors")], files
    assert not [t for t in threading.enumerate() if t.name.startswith("download ")]  # worker ended


def test_a_file_missing_on_the_hub_is_named_in_the_error(hub, registry, model_env, tiny_files):
    hub.add_repo(DIFF_REPO, {"model_index.json": tiny_files["model_index.json"]})
    with pytest.raises(DownloadError) as err:
        _run("tiny-diffusers", registry, model_env)
    assert "unet/config.json" in str(err.value) and "spa2v models import" in str(err.value)


def test_an_unreachable_hub_gives_a_clear_error(registry, model_env, monkeypatch):
    import socket
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(download, "HEAD_RETRIES", False)
    with pytest.raises(DownloadError) as err:
        _run("tiny-llm", registry, model_env)
    assert "Cannot reach the hub" in str(err.value) and "tiny-q4.gguf" in str(err.value)


def test_no_network_fails_at_once_without_the_hubs_retries(registry, model_env, monkeypatch):
    import socket

    import huggingface_hub

    def no_dns(host, *a, **kw):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    asked = []
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", lambda *a, **kw: asked.append(a))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example.invalid")
    with pytest.raises(DownloadError) as err:
        _run("tiny-llm", registry, model_env)
    assert "Cannot reach the hub" in str(err.value) and "Name or service not known" in str(err.value)
    assert asked == []  # not the hub client's five retries, 25 s and a warning each
    assert not list(model_env.hf_cache_dir.rglob("*.gguf*"))


def test_the_cache_layout_is_the_one_huggingface_hub_reads(hub, registry, model_env):
    from huggingface_hub import try_to_load_from_cache

    loc, _ = _run("tiny-diffusers", registry, model_env)
    for rel, path in loc.files.items():
        found = try_to_load_from_cache(DIFF_REPO, rel, cache_dir=model_env.hf_cache_dir)
        assert Path(found) == path


def test_package_models_are_not_downloaded(registry, model_env):
    with pytest.raises(ModelMissing, match="pip install --no-deps soundfile=="):
        _run("tiny-tagger", registry, model_env)


def test_without_the_hub_client_a_download_says_what_to_install(hub, registry, model_env, monkeypatch):
    # The core install has no huggingface-hub (the 'hub' extra): 'spa2v models download' ended
    # in a ModuleNotFoundError traceback from the error handler itself.
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)

    with pytest.raises(ModelMissing) as err:
        _run("tiny-llm", registry, model_env)
    assert "huggingface-hub" in str(err.value) and "spa2v-studio[hub]" in str(err.value)
    assert hub.requests == []


def test_a_hub_that_refuses_the_connection_fails_at_once(registry, model_env, monkeypatch,
                                                         capsys):
    """A mirror in HF_ENDPOINT that is down (or a firewall that rejects): the hub client
    retried five times over 23 s, printing "'[Errno 111] Connection refused' thrown while
    requesting HEAD ..." and "Retrying in 8s [Retry 5/5]." before the one line."""
    import socket

    import huggingface_hub

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    asked = []
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", lambda *a, **kw: asked.append(a))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as err:
        _run("tiny-llm", registry, model_env)
    assert f"Cannot reach the hub (http://127.0.0.1:{port})" in str(err.value)
    assert "Connection refused" in str(err.value)
    assert asked == []
    assert not list(model_env.hf_cache_dir.rglob("*.gguf*"))
