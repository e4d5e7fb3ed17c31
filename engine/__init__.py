"""SpA2V Studio engine: audio, cues, planning, rendering and export.

The engine never imports Qt, the app, or heavy model libraries (torch, diffusers,
transformers, llama_cpp, google-genai); an import-linter contract in pyproject.toml checks it.
Model-backed planners, taggers and renderers live in ``models/`` and plug in through the
protocols defined here.
"""

__version__ = "0.1.0"
