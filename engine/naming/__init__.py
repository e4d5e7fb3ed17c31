"""The audio listener's side of naming: the request a listening model gets (each measured
source's own excerpt from :mod:`engine.cues.signals`, the tagger's candidates as hints), the
answer's schema, and how an answer names the cues. It sits above planning (it reuses the
reply limits of :mod:`engine.planning.llm_schema`) and below the pipeline."""
