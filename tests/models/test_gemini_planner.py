"""The Gemini planner against a fake Gemini server on 127.0.0.1: the real google-genai SDK
over real HTTP, through its base-URL option."""

import base64

import numpy as np
import pytest

pytest.importorskip("google.genai")

from engine.errors import ModelMissing  # noqa: E402
from engine.jobs import CancelToken, Log, run_job  # noqa: E402
from engine.protocols import PlanRequest  # noqa: E402
from models import gemini_planner  # noqa: E402
from models.gemini_planner import GeminiPlanner, audio_part, find_api_key  # noqa: E402
from tests.engine.planning import replies  # noqa: E402
from tests.engine.planning.cuekit import dog_and_car  # noqa: E402
from tests.models.fake_gemini import FakeGemini  # noqa: E402

KEY = "test-key-Zq81x"


@pytest.fixture
def fake():
    with FakeGemini() as server:
        yield server


@pytest.fixture
def wav(tmp_path):
    import soundfile as sf

    path = tmp_path / "clip.wav"
    sf.write(str(path), np.zeros((800, 2), np.float32), 8000)
    return path


class MemoryKeyring:
    """An in-memory keyring backend, so no test reads or writes the user's real keyring."""

    def __init__(self):
        from keyring.backend import KeyringBackend

        class Memory(KeyringBackend):
            priority = 1
            store: dict = {}

            def get_password(self, service, user):
                return self.store.get((service, user))

            def set_password(self, service, user, password):
                self.store[(service, user)] = password

            def delete_password(self, service, user):
                self.store.pop((service, user), None)

        self.backend = Memory()


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch):
    import keyring

    for name in gemini_planner.ENV_KEYS:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring().backend
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


def plan(planner, audio=None):
    events = []
    layout = run_job(planner.plan(PlanRequest(dog_and_car(), audio_path=audio), CancelToken()),
                     events.append)
    return layout, [e for e in events if isinstance(e, Log)]


def test_gemini_gets_audio_table_and_schema_and_its_reply_is_used(fake, wav):
    fake.answer(replies.GOOD, prompt_tokens=1290, output_tokens=180)
    planner = GeminiPlanner(api_key=KEY, base_url=fake.base_url)
    layout, logs = plan(planner, wav)
    assert layout.planner.name == "gemini" and layout.planner.model == "gemini-2.5-flash"
    assert [o.label for o in layout.objects] == ["dog", "car"]
    # Sending the audio is said as it happens, with what goes (issue 15).
    assert [e.message for e in logs] == [
        "Sending clip.wav (0.0 MB, the file as it is, tags included) to Google with the cue "
        "table and your hint; to send the table and hint only: --gemini-no-audio, or untick "
        "it in the studio's settings."]
    assert planner.last_stats.prompt_tokens == [1290] and planner.last_stats.output_tokens == [180]

    (request,) = fake.requests
    assert request["path"].endswith("/models/gemini-2.5-flash:generateContent")
    assert request["headers"]["x-goog-api-key"] == KEY
    body = request["body"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["caption", "background", "objects"]
    assert "You plan a short video" in body["systemInstruction"]["parts"][0]["text"]
    turns = body["contents"]
    assert [t["role"] for t in turns] == ["user", "model"] * 3 + ["user"]
    audio, table = turns[-1]["parts"]
    inline = audio["inlineData"]  # protobuf JSON: either spelling of the field is accepted
    assert (inline.get("mimeType") or inline.get("mime_type")) == "audio/wav"
    assert base64.b64decode(inline["data"]) == wav.read_bytes()
    assert "S2: car .8; motion right_to_left .9" in table["text"]
    assert all("inlineData" not in p for t in turns[:-1] for p in t["parts"])  # examples: text


def test_a_broken_reply_is_repaired_in_a_second_request(fake):
    fake.answer(replies.RECORDED["broken_schema"])
    fake.answer(replies.GOOD)
    planner = GeminiPlanner(api_key=KEY, base_url=fake.base_url, model="gemini-2.0-flash")
    layout, _ = plan(planner)
    assert layout.planner.model == "gemini-2.0-flash" and len(fake.requests) == 2
    second = fake.requests[1]["body"]["contents"]
    assert second[-2]["role"] == "model"
    assert second[-1]["parts"][0]["text"].startswith("That reply cannot be used")


def test_an_api_error_falls_back_and_never_shows_the_key(fake, caplog):
    fake.fail(400, f"API key {KEY} not valid. Please pass a valid API key.")
    planner = GeminiPlanner(api_key=KEY, base_url=fake.base_url)
    layout, logs = plan(planner)
    assert layout.planner.name == "heuristic" and len(fake.requests) == 1
    assert "Gemini answered 400" in logs[-1].message and "***" in logs[-1].message
    assert KEY not in logs[-1].message and KEY not in planner.last_stats.reason
    assert KEY not in caplog.text and KEY not in repr(planner)


def test_an_unreachable_server_falls_back():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    planner = GeminiPlanner(api_key=KEY, base_url=f"http://127.0.0.1:{port}/", timeout_s=5)
    layout, logs = plan(planner)
    assert layout.planner.name == "heuristic"
    assert "Gemini could not be reached" in logs[-1].message


def test_audio_that_cannot_go_inline_is_left_out_with_a_note(fake, tmp_path, monkeypatch):
    big = tmp_path / "long.flac"
    big.write_bytes(b"0" * 1000)
    monkeypatch.setattr(gemini_planner, "MAX_INLINE_AUDIO_BYTES", 100)
    fake.answer(replies.GOOD)
    _, logs = plan(GeminiPlanner(api_key=KEY, base_url=fake.base_url), big)
    assert logs[0].level == "warning" and "over the" in logs[0].message
    assert all("inlineData" not in p for p in fake.requests[0]["body"]["contents"][-1]["parts"])
    assert isinstance(audio_part(tmp_path / "notes.txt"), str)


def test_the_inline_limit_is_said_as_the_docs_say_it(tmp_path):
    # the limit is 14 MB (of 2**20 bytes) in the docs and the code: the message said 15 MB
    big = tmp_path / "big.wav"
    with open(big, "wb") as f:
        f.truncate(int(14.5 * 2**20))
    assert audio_part(big) == "big.wav is 14.5 MB, over the 14 MB inline limit"


def test_key_from_environment_then_keyring(monkeypatch, memory_keyring):
    assert find_api_key() is None
    gemini_planner.store_api_key(" from-keyring ")
    assert memory_keyring.store[("spa2v-studio", "gemini-api-key")] == "from-keyring"
    assert find_api_key() == "from-keyring"
    monkeypatch.setenv("GOOGLE_API_KEY", "from-google-env")
    assert find_api_key() == "from-google-env"
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini-env")
    assert find_api_key() == "from-gemini-env"


def test_no_key_says_how_to_store_one():
    with pytest.raises(ModelMissing) as e:
        GeminiPlanner()
    text = str(e.value)
    assert "GEMINI_API_KEY" in text
    assert "python -m keyring set spa2v-studio gemini-api-key" in text
    assert "default planner works without it" in text


@pytest.mark.parametrize("bad, what", [("AIza\u2019Zq81x", "the character '\u2019' at position 5"),
                                       ("AIza Zq81x", "a space or line break at position 5"),
                                       ("AIza\nZq81x", "a space or line break at position 5")])
def test_a_key_pasted_with_a_stray_character_is_said_before_anything_is_sent(
        monkeypatch, bad, what):
    """Such a key reached the SDK and came back as "Gemini could not be reached
    (UnicodeEncodeError: 'ascii' codec can't encode ...)", read as a network problem."""
    monkeypatch.setenv("GEMINI_API_KEY", bad)
    with pytest.raises(ModelMissing) as e:
        GeminiPlanner()
    text = str(e.value)
    assert what in text and "it came from GEMINI_API_KEY" in text
    assert "Zq81x" not in text and "UnicodeEncodeError" not in text


def test_the_studio_does_not_store_a_key_with_a_stray_character(memory_keyring):
    from spa2v_app.studio.model.secrets import BadKey, store_gemini_key

    with pytest.raises(BadKey, match="position 5"):
        store_gemini_key("AIza\u00a0Zq81x")  # a non-breaking space from a web page
    assert memory_keyring.store.get(("spa2v-studio", "gemini-api-key")) is None
    store_gemini_key("  AIzaZq81x \n")  # spaces around it are only trimmed
    assert memory_keyring.store[("spa2v-studio", "gemini-api-key")] == "AIzaZq81x"


def test_not_sending_the_audio_is_said_and_kept(fake, wav):
    fake.answer(replies.GOOD)
    _, logs = plan(GeminiPlanner(api_key=KEY, base_url=fake.base_url, send_audio=False), wav)
    assert logs[0].message.startswith("Gemini gets the cue table and your hint only")
    assert all("inlineData" not in p for t in fake.requests[0]["body"]["contents"]
               for p in t["parts"])
