"""What names the sounds on the command line: ``--listener tagger|audio-llm``.

``tagger`` is the built-in sound tagger (YAMNet); ``audio-llm`` a local audio-language model
through llama.cpp's audio input (registry name ``listener-audio-default``). Without the
option, the audio listener is used when its library and model are installed, else the tagger;
either way the command says which. Positions and motion are measured whichever names them.
"""

from __future__ import annotations

import argparse

from engine.jobs import Log

LISTENER_CHOICES = ("tagger", "audio-llm")


def add_listener_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listener", choices=LISTENER_CHOICES, default=None,
                        help="what names the sounds: tagger (built in) or audio-llm (a local "
                             "audio-language model; default when installed)")


def listener_from_args(args: argparse.Namespace, printer):
    """The audio listener to use, or None for the tagger alone; says which once."""
    from models.backends import make_listener

    choice = getattr(args, "listener", None)
    if choice == "tagger":
        printer(Log("Sounds are named by the built-in sound tagger (--listener tagger)."))
        return None
    if choice == "audio-llm":
        listener = make_listener("audio-llm")  # missing library or model: ModelMissing, exit 2
    else:
        listener = _installed_listener()
        if listener is None:
            printer(Log("Sounds are named by the built-in sound tagger (no audio listener "
                        "model is installed; spa2v models download listener-audio-default)."))
            return None
    printer(Log(f"Sounds are named by the audio listener {listener.model}, with the sound "
                "tagger's guesses as hints."))
    return listener


def _installed_listener():
    import importlib.util

    from engine.errors import ModelMissing
    from models.audio_listener import listener_installed
    from models.backends import make_listener

    if importlib.util.find_spec("llama_cpp") is None or not listener_installed():
        return None
    try:
        return make_listener("audio-llm")
    except ModelMissing:
        return None
