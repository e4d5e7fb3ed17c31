"""The Gemini planner, through the official ``google-genai`` SDK (as in the SpA2V paper).

Gemini hears what is sounding well, but mixes stereo down before it listens, so it gets the
audio itself for the semantics plus the same measured cue table as the local planner for the
directions. Its structured-output mode is held to the reply schema; the shared flow
(``engine.planning.llm_planner``) validates, repairs once, falls back and guards the result.

The API key comes from the environment (``GEMINI_API_KEY``, then ``GOOGLE_API_KEY``) or the
OS keyring (service ``spa2v-studio``, user ``gemini-api-key``), never from a project file, and
is never logged: error text from the SDK is scrubbed of it before anyone sees it.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

from engine.errors import ModelMissing
from engine.jobs import CancelToken, Job, Log, Progress
from engine.layout import Layout
from engine.planning.llm_planner import BackendError, ChatReply, PlanStats, plan_with_llm
from engine.planning.llm_prompt import ChatMessage
from engine.protocols import PlanRequest

DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"
KEYRING_SERVICE = "spa2v-studio"
KEYRING_USER = "gemini-api-key"
ENV_KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
# Inline audio rides in the request, base64-encoded (4/3 larger); requests are capped at 20 MB.
MAX_INLINE_AUDIO_BYTES = 14 * 1024 * 1024
MAX_OUTPUT_TOKENS = 8192  # room for the model's own thinking on top of a ~300-token reply
_AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mp3",
                ".ogg": "audio/ogg", ".aac": "audio/aac", ".aiff": "audio/aiff",
                ".aif": "audio/aiff", ".m4a": "audio/mp4"}


def find_api_key() -> str | None:
    """The Gemini key from the environment, else the OS keyring; None when neither has one."""
    for name in ENV_KEYS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except keyring.errors.KeyringError:  # no usable keyring backend on this machine
        return None
    return value.strip() if value and value.strip() else None


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an API key (it goes into an HTTP header, ASCII only), or None.
    A key pasted with a typographic quote, a non-breaking space or a line break inside used
    to reach the SDK and come back as "Gemini could not be reached (UnicodeEncodeError ...)".
    The message names the character's position, never the key."""
    key = key.strip()
    for i, c in enumerate(key, start=1):
        if not c.isascii() or c.isspace() or not c.isprintable():
            what = "a space or line break" if c.isspace() else f"the character {c!r}" \
                if c.isprintable() else "a control character"
            return (f"The Gemini API key has {what} at position {i}, which no key has "
                    "(a quote or space that came along when it was copied?)")
    return None


def store_api_key(key: str) -> None:
    """Keep the key in the OS keyring (for the app's settings page)."""
    import keyring

    keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key.strip())


def _import_genai():
    try:
        from google import genai
        from google.genai import types
    except ImportError as e:
        raise ModelMissing(
            f"The Gemini planner needs the google-genai package, which is not installed ({e}).",
            hint="Install it with: pip install 'spa2v-studio[gemini]' (the default planner "
                 "works without it).") from None
    return genai, types


def audio_part(path: str | os.PathLike | None) -> tuple[bytes, str] | None | str:
    """The clip's bytes and MIME type for inline upload; or a reason (text) it is not sent."""
    if path is None:
        return None
    p = Path(path)
    mime = _AUDIO_TYPES.get(p.suffix.lower()) or mimetypes.guess_type(p.name)[0]
    if not mime or not mime.startswith("audio/"):
        return f"{p.name} is not a format Gemini accepts inline"
    try:
        size = p.stat().st_size
        if size > MAX_INLINE_AUDIO_BYTES:
            # MB of 2**20 bytes, as the limit is written (and docs/planners.md says 14 MB)
            return (f"{p.name} is {size / 2**20:.1f} MB, over the "
                    f"{MAX_INLINE_AUDIO_BYTES / 2**20:.0f} MB inline limit")
        return p.read_bytes(), mime
    except OSError as e:
        return f"{p.name} could not be read ({e.strerror})"


class GeminiChat:
    """The chat backend for :func:`plan_with_llm` over a ``genai.Client``."""

    def __init__(self, client, types, model: str, *, audio: tuple[bytes, str] | None,
                 secret: str, temperature: float = 0.2, seed: int = 0):
        self.client, self.types, self.model = client, types, model
        self.audio, self.temperature, self.seed = audio, temperature, seed
        self._secret = secret

    def contents(self, messages: list[ChatMessage]) -> tuple[str | None, list[Any]]:
        t = self.types
        system = None
        contents = []
        for m in messages:
            if m.role == "system":
                system = m.content
                continue
            parts = [t.Part.from_text(text=m.content)]
            if m.clip and self.audio is not None:
                data, mime = self.audio
                parts.insert(0, t.Part.from_bytes(data=data, mime_type=mime))
            contents.append(t.Content(role="user" if m.role == "user" else "model", parts=parts))
        return system, contents

    def __call__(self, messages: list[ChatMessage], *, schema: dict[str, Any],
                 grammar_schema: dict[str, Any], max_tokens: int,
                 token: CancelToken) -> ChatReply:
        from google.genai import errors

        system, contents = self.contents(messages)
        config = self.types.GenerateContentConfig(
            system_instruction=system, temperature=self.temperature, seed=self.seed,
            response_mime_type="application/json", response_json_schema=schema,
            max_output_tokens=MAX_OUTPUT_TOKENS)
        token.raise_if_cancelled()
        try:
            response = self.client.models.generate_content(model=self.model, contents=contents,
                                                           config=config)
        except errors.APIError as e:
            raise BackendError(self._scrub(f"Gemini answered {e.code} {e.status or ''}: "
                                           f"{e.message or ''}".strip())) from None
        except Exception as e:  # noqa: BLE001 - network failures come as many types
            raise BackendError(self._scrub(f"Gemini could not be reached "
                                           f"({type(e).__name__}: {e})")) from None
        token.raise_if_cancelled()
        usage = response.usage_metadata
        return ChatReply(
            text=response.text or "",
            prompt_tokens=getattr(usage, "prompt_token_count", None),
            output_tokens=getattr(usage, "candidates_token_count", None))

    def _scrub(self, text: str) -> str:
        text = text.replace(self._secret, "***") if self._secret else text
        return text[:300]


class GeminiPlanner:
    """Plans with Gemini.

    Parameters
    ----------
    model : a Gemini model name (``--gemini-model``).
    api_key : the key; by default from the environment or the OS keyring.
    base_url : another endpoint for the Gemini API (a proxy, or a test server).
    send_audio : send the clip's audio along with the cue table.
    timeout_s : how long to wait for an answer.
    """

    name = "gemini"

    def __init__(self, *, model: str | None = None, api_key: str | None = None,
                 base_url: str | None = None, send_audio: bool = True,
                 timeout_s: float = 120.0, temperature: float = 0.2, seed: int = 0):
        genai, self._types = _import_genai()
        key = (api_key or "").strip() or find_api_key()
        if not key:
            raise ModelMissing(
                "The Gemini planner needs an API key, and none was found.",
                hint="Set GEMINI_API_KEY, or store it in the OS keyring: python -m keyring set "
                     f"{KEYRING_SERVICE} {KEYRING_USER}. The default planner works without it.")
        why = key_problem(key)
        if why:
            source = "the api_key given" if (api_key or "").strip() else next(
                (n for n in ENV_KEYS if os.environ.get(n, "").strip()), "the OS keyring")
            raise ModelMissing(f"{why}; it came from {source}.",
                               hint="Copy the key again from Google AI Studio and set it once "
                                    "more (the studio's Settings, Planner page; or "
                                    "GEMINI_API_KEY). The default planner works without it.")
        self.model = model or DEFAULT_GEMINI_MODEL
        self.send_audio, self.temperature, self.seed = send_audio, temperature, seed
        http = self._types.HttpOptions(base_url=base_url, timeout=int(timeout_s * 1000))
        self._client = genai.Client(api_key=key, vertexai=False, http_options=http)
        self._secret = key
        self.last_stats: PlanStats | None = None

    def __repr__(self) -> str:  # never show the key
        return f"GeminiPlanner(model={self.model!r})"

    def plan(self, request: PlanRequest, token: CancelToken) -> Job[Layout]:
        token.raise_if_cancelled()
        yield Progress("plan", 0.0, detail=f"asking {self.model}")
        audio = audio_part(request.audio_path) if self.send_audio else None
        if isinstance(audio, str):
            yield Log(f"Gemini gets the cue table only: {audio}.", "warning")
            audio = None
        elif audio is not None:  # said each time, as it happens (issue 15)
            yield Log(f"Sending {Path(request.audio_path).name} "
                      f"({len(audio[0]) / 2**20:.1f} MB, the file as it is, tags included) to "
                      "Google with the cue table and your hint; to send the table and hint "
                      "only: --gemini-no-audio, or untick it in the studio's settings.")
        elif not self.send_audio:
            yield Log("Gemini gets the cue table and your hint only; the audio stays on this "
                      "machine.")
        chat = GeminiChat(self._client, self._types, self.model, audio=audio,
                          secret=self._secret, temperature=self.temperature, seed=self.seed)
        stats = PlanStats()
        try:
            layout = yield from plan_with_llm(request, token, chat, planner_name=self.name,
                                              stats=stats)
        finally:
            self.last_stats = stats
        return layout
