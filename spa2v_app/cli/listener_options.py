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
    from models.audio_listener import TAGGER_NOTE, default_listener, listening_note
    from models.backends import make_listener

    choice = getattr(args, "listener", None)
    if choice == "tagger":
        printer(Log(f"{TAGGER_NOTE} (--listener tagger)."))
        return None
    if choice == "audio-llm":
        listener = make_listener("audio-llm")  # missing library or model: ModelMissing, exit 2
        printer(Log(listening_note(listener)))
        return listener
    listener, note = default_listener()
    printer(Log(note))
    return listener
