"""Planner choice on the command line: ``--planner``, ``--llm-model``, ``--gemini-model``.

``spa2v plan`` (and anything else that plans) calls :func:`add_planner_arguments` on its parser
and :func:`planner_from_args` to build the planner; a missing library, model file or key is a
:class:`~engine.errors.ModelMissing` that says what to get, and the default planner needs
nothing.
"""

from __future__ import annotations

import argparse

from engine.errors import BadInput
from models.backends import DEFAULT_PLANNER, PLANNERS, choices_help, make_planner


def add_planner_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("planner")
    g.add_argument("--planner", choices=tuple(PLANNERS), default=None,
                   help=choices_help(PLANNERS, DEFAULT_PLANNER))
    g.add_argument("--llm-model", metavar="PATH", default=None,
                   help="GGUF file for --planner llama (default: the installed "
                        "planner-llm-default; implies --planner llama)")
    g.add_argument("--gemini-model", metavar="NAME", default=None,
                   help="Gemini model for --planner gemini (default gemini-2.5-flash; "
                        "implies --planner gemini)")
    g.add_argument("--gemini-no-audio", action="store_true",
                   help="send Gemini the measured cues and your hint only, not the audio (by "
                        "default it hears the clip; implies --planner gemini)")


def planner_name_from_args(args: argparse.Namespace) -> str:
    """The planner the arguments ask for; model options imply their planner."""
    name = getattr(args, "planner", None)
    llm_model = getattr(args, "llm_model", None)
    gemini_model = getattr(args, "gemini_model", None)
    gemini_flag = "--gemini-model" if gemini_model else \
        "--gemini-no-audio" if getattr(args, "gemini_no_audio", False) else None
    if llm_model and gemini_flag:
        raise BadInput(f"--llm-model and {gemini_flag} choose different planners; give one.")
    implied = "llama" if llm_model else "gemini" if gemini_flag else None
    if name and implied and name != implied:
        flag = "--llm-model" if implied == "llama" else gemini_flag
        raise BadInput(f"{flag} is for --planner {implied}, not --planner {name}.")
    return name or implied or DEFAULT_PLANNER


def planner_from_args(args: argparse.Namespace):
    """Build the planner the arguments ask for (``models.backends.make_planner``)."""
    name = planner_name_from_args(args)
    options = {}
    if name == "llama" and getattr(args, "llm_model", None):
        options["model_path"] = args.llm_model
    if name == "gemini" and getattr(args, "gemini_model", None):
        options["model"] = args.gemini_model
    if name == "gemini" and getattr(args, "gemini_no_audio", False):
        options["send_audio"] = False
    return make_planner(name, **options)
