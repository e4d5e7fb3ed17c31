import pytest


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory):
    """A 2-layer random llama with a byte-level BPE vocabulary (about 0.1 MB)."""
    pytest.importorskip("gguf")
    from tests.models.tiny_gguf import write_tiny_llama

    return write_tiny_llama(tmp_path_factory.mktemp("gguf") / "tiny-random-llama.gguf", seed=0)
