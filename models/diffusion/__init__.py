"""The video engine: SD1.5 + AnimateDiff with training-free box grounding (diffusers).

Importing this package is cheap; torch, diffusers and transformers are imported by the
modules that need them when a render is set up. The renderer is
:class:`models.diffusion.renderer.DiffusionRenderer`; docs/video_engine.md explains the
grounding, the memory tiers and the options.
"""
