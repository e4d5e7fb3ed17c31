"""Training-free box grounding: each object's words are steered into its box, frame by frame.

How it works (details in docs/video_engine.md):

1. :func:`compose_prompt` writes one prompt from the caption and the objects' phrases and finds,
   for each object, the positions of its words among the 77 CLIP tokens (a phrase already in
   the caption is used where it stands; otherwise it is appended).
2. :func:`region_masks` turns the layout's per-frame boxes into coverage maps at each UNet
   resolution (the share of each latent cell that lies inside the box, so edges are soft).
3. :class:`GroundedCrossAttention` replaces the processor of every *spatial* cross-attention
   layer (installed with ``unet.set_attn_processor``; the motion modules' temporal attention is
   left as it is and carries the objects between frames). For the conditional half of the
   batch it adds a bias to the attention logits of each object's tokens: ``+inside`` where the
   cell lies in the object's box, ``-outside`` elsewhere (regional cross-attention in the
   spirit of MIGC and TrailBlazer, with no trained weights). The bias is at full strength in
   the early steps, where the layout of the picture is decided, and fades out by
   ``grounding_until`` of the steps; after that the layer runs the stock processor.

Nothing in the pipeline or the UNet is forked: switching grounding off restores the stock
behaviour exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.layout import Box, Layout, box_at_time

# Logit offsets at grounding_strength 1: a token's weight is multiplied by e^1.5 = 4.5 inside
# its box and by e^-5 = 0.007 outside it.
INSIDE_BOOST = 1.5
OUTSIDE_SUPPRESS = 5.0
_PAD_TOKENS = 8  # the bias's last dimension is padded to a multiple of 8 for fast SDPA kernels


# ---------------------------------------------------------------------------- prompt and tokens


@dataclass(frozen=True)
class GroundedPrompt:
    """The prompt text and, per object id, the positions of its tokens (0 is the BOS token)."""

    text: str
    spans: dict[int, tuple[int, ...]]
    dropped: tuple[int, ...] = ()
    shortened: bool = False


def _find_all(seq: Sequence[int], sub: Sequence[int]) -> list[int]:
    n = len(sub)
    return [i for i in range(len(seq) - n + 1) if n and list(seq[i:i + n]) == list(sub)]


def compose_prompt(caption: str, background: str, phrases: Sequence[tuple[int, str, str]],
                   tokenizer: Any) -> GroundedPrompt:
    """One prompt for the whole clip, with each object's token positions.

    ``phrases``: ``(object id, label, prompt phrase)`` per object. A phrase found in the caption
    is grounded where it stands; one that is not (or that two objects share) is appended. The
    label's own occurrences in the caption are grounded too when only one object has that
    label. When the text does not fit CLIP's 77 tokens the caption is shortened first; objects
    that still do not fit are listed in ``dropped``.
    """
    limit = int(getattr(tokenizer, "model_max_length", 77)) - 2

    def tok(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False).input_ids) if text else []

    base = caption.strip().rstrip(".")
    if background.strip() and background.strip().lower() not in base.lower():
        base = f"{base}, {background.strip()}" if base else background.strip()
    phrase_counts: dict[str, int] = {}
    label_counts: dict[str, int] = {}
    for _, label, phrase in phrases:
        phrase_counts[phrase.lower().strip()] = phrase_counts.get(phrase.lower().strip(), 0) + 1
        label_counts[label.lower().strip()] = label_counts.get(label.lower().strip(), 0) + 1

    words = base.split()
    kept = list(phrases)
    shortened = False
    while True:
        base_text = " ".join(words)
        base_ids = tok(base_text)
        appended = [p for p in kept if phrase_counts[p[2].lower().strip()] > 1
                    or not _find_all(base_ids, tok(p[2]))]
        text = ", ".join([base_text] * bool(base_text) + [p[2].strip() for p in appended])
        ids = tok(text)
        if len(ids) <= limit:
            break
        if words:
            words.pop()
            shortened = True
        else:
            kept.pop()
    base_len = len(tok(base_text))
    spans: dict[int, tuple[int, ...]] = {}
    claimed: set[int] = set()
    appended_ids = {p[0] for p in appended}
    for oid, label, phrase in kept:
        ph = tok(phrase.strip())
        starts = _find_all(ids, ph)
        if oid in appended_ids:
            starts = [s for s in starts if s >= base_len and s not in claimed][:1]
        else:
            starts = [s for s in starts if s < base_len]
        positions = {s + k for s in starts for k in range(len(ph))}
        claimed.update(starts)
        if label_counts[label.lower().strip()] == 1:
            lab = tok(label.strip())
            positions |= {s + k for s in _find_all(ids[:base_len], lab) for k in range(len(lab))}
        spans[oid] = tuple(sorted(p + 1 for p in positions))  # +1: the BOS token comes first
    dropped = tuple(p[0] for p in phrases if p not in kept)
    return GroundedPrompt(text, spans, dropped, shortened)


# ------------------------------------------------------------------------------- region masks


def frame_boxes(layout: Layout, num_frames: int) -> dict[int, list[Box | None]]:
    """Each object's box in each of ``num_frames`` frames spread over the layout's duration."""
    if num_frames == layout.num_frames:
        return {o.id: list(o.boxes) for o in layout.objects}
    times = [(i + 0.5) * layout.duration_s / num_frames for i in range(num_frames)]
    return {o.id: [box_at_time(layout, o, t) for t in times] for o in layout.objects}


def box_coverage(box: Box | None, height: int, width: int) -> np.ndarray:
    """Share of each cell of a ``(height, width)`` grid that lies inside ``box``.

    ``box`` is ``[x0, y0, x1, y1]`` normalized, origin top-left. Returns float32 ``(height,
    width)`` in ``[0, 1]``; all zeros for ``None``.
    """
    if box is None:
        return np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = box

    def overlap(lo: float, hi: float, n: int) -> np.ndarray:
        edges = np.arange(n + 1, dtype=np.float64) / n
        return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None) * n

    return np.outer(overlap(y0, y1, height), overlap(x0, x1, width)).astype(np.float32)


def region_masks(boxes: Sequence[Sequence[Box | None]], height: int, width: int) -> np.ndarray:
    """Coverage maps ``(frames, objects, height, width)`` from per-object lists of frame boxes."""
    if not boxes:
        return np.zeros((0, 0, height, width), np.float32)
    frames = len(boxes[0])
    out = np.zeros((frames, len(boxes), height, width), np.float32)
    for o, per_frame in enumerate(boxes):
        for f, box in enumerate(per_frame):
            out[f, o] = box_coverage(box, height, width)
    return out


def attention_bias(masks: np.ndarray, spans: Sequence[Sequence[int]], seq_len: int, *,
                   inside: float = INSIDE_BOOST, outside: float = OUTSIDE_SUPPRESS) -> np.ndarray:
    """Additive logit bias ``(frames, height*width, seq_len)`` for cross-attention.

    For object ``o`` and each of its token positions, cells inside its box get ``+inside``
    (scaled by coverage) and cells outside get ``-outside``; other tokens get 0.
    """
    frames, objects = masks.shape[:2]
    flat = masks.reshape(frames, objects, -1)
    bias = np.zeros((frames, flat.shape[2], seq_len), np.float32)
    for o, tokens in enumerate(spans):
        if not len(tokens):
            continue
        value = inside * flat[:, o] - outside * (1.0 - flat[:, o])  # (frames, pixels)
        bias[:, :, list(tokens)] += value[:, :, None]
    return bias


def grid_for(pixels: int, latent_h: int, latent_w: int) -> tuple[int, int]:
    """The ``(h, w)`` of a UNet level holding ``pixels`` cells (stride-2 downsampling, rounding up)."""
    h, w = latent_h, latent_w
    for _ in range(8):
        if h * w == pixels:
            return h, w
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    raise ValueError(f"no UNet level of a {latent_h}x{latent_w} latent has {pixels} cells")


# ------------------------------------------------------------------------------ the processors


Recorder = Callable[[str, Any, np.ndarray, int, int], None]


@dataclass
class GroundingState:
    """What every grounded layer of one pipeline shares during a render.

    ``boxes``: per object (in ``spans`` order) its per-frame boxes. ``weight`` is the current
    step's strength (0: the layers run the stock processor). ``recorder``, when set, receives the
    conditional attention probabilities ``(rows, heads, pixels, tokens)`` of every grounded
    layer with the frame index of each row (used by tests, the benchmark and energy guidance).
    """

    num_frames: int = 0
    cfg: bool = True
    latent_hw: tuple[int, int] = (0, 0)
    spans: list[tuple[int, ...]] = field(default_factory=list)
    boxes: list[list[Box | None]] = field(default_factory=list)
    strength: float = 0.0
    until: float = 0.6
    weight: float = 0.0
    recorder: Recorder | None = None
    generation: int = 0
    _cache: dict[tuple, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows of one UNet batch: a conditional (and with guidance an unconditional) per frame."""
        return self.num_frames * (2 if self.cfg else 1)

    def configure(self, *, num_frames: int, cfg: bool, latent_hw: tuple[int, int],
                  spans: list[tuple[int, ...]], boxes: list[list[Box | None]],
                  strength: float, until: float) -> None:
        self.num_frames, self.cfg, self.latent_hw = num_frames, cfg, latent_hw
        self.spans, self.boxes = spans, boxes
        self.strength, self.until = strength, until
        self._cache.clear()
        self.set_step(0, 1)

    def set_step(self, step: int, total: int) -> None:
        """Strength for denoising step ``step`` of ``total``: full for the first half of
        ``until``, then fading linearly to nothing at ``until``."""
        self.generation += 1
        if not self.spans or self.strength <= 0 or total <= 0 or self.until <= 0:
            self.weight = 0.0
            return
        progress = step / total
        self.weight = self.strength * float(np.clip(2.0 * (1.0 - progress / self.until), 0.0, 1.0))

    @property
    def active(self) -> bool:
        return self.weight > 0 or self.recorder is not None

    def row_bias(self, pixels: int, device: Any, dtype: Any) -> tuple[Any, int, int]:
        """The bias for every row of a UNet batch at this step's weight, and the grid size.

        ``(rows, 1, pixels, tokens padded to 8)``: zeros on the unconditional rows. Built once
        per resolution and render, scaled once per step; a layer slices its rows from it, so
        no index tensors travel to the GPU inside the denoising loop.
        """
        import torch

        key = (pixels, self.cfg, str(device), str(dtype))
        if key not in self._cache:
            h, w = grid_for(pixels, *self.latent_hw)
            masks = region_masks(self.boxes, h, w)
            seq = 77 if not self.spans else max(77, 1 + max((max(s) for s in self.spans if s),
                                                            default=0))
            padded = -(-seq // _PAD_TOKENS) * _PAD_TOKENS
            b = np.zeros((self.rows, 1, pixels, padded), np.float32)
            if masks.size:
                first = self.num_frames if self.cfg else 0
                b[first:, 0, :, :seq] = attention_bias(masks, self.spans, seq)
            self._cache[key] = [torch.from_numpy(b).to(device=device, dtype=dtype), None, None,
                                h, w]
        unit, scaled, weight, h, w = entry = self._cache[key]
        if weight != self.weight:
            entry[1], entry[2] = unit * self.weight, self.weight
        return entry[1], h, w


class GroundedCrossAttention:
    """A spatial cross-attention processor that adds the box bias for the conditional rows.

    Rows of the batch are frames: ``[uncond frames..., cond frames...]`` with guidance,
    ``[frames...]`` without. With split inference a layer sees the rows in consecutive chunks;
    the processor counts rows within a UNet pass (the state's ``generation`` changes between
    passes) to know which frames a chunk holds.
    """

    def __init__(self, state: GroundingState, name: str, base: Any):
        self.state, self.name, self.base = state, name, base
        self._generation, self._seen = -1, 0

    def _first_row(self, rows: int) -> int:
        st = self.state
        if self._generation != st.generation:
            self._generation, self._seen = st.generation, 0
        offset = self._seen % st.rows
        self._seen += rows
        return offset

    def __call__(self, attn: Any, hidden_states: Any, encoder_hidden_states: Any = None,
                 attention_mask: Any = None, temb: Any = None, *args: Any, **kwargs: Any):
        st = self.state
        if (encoder_hidden_states is None or not st.active or hidden_states.ndim != 3
                or not 0 < hidden_states.shape[0] <= st.rows
                or attn.spatial_norm is not None or attn.group_norm is not None):
            # Not a batch laid out as this render's frames (or nothing to do): stock path.
            return self.base(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                             *args, **kwargs)
        import torch
        import torch.nn.functional as F

        rows, pixels, _ = hidden_states.shape
        offset = self._first_row(rows)
        frame_of_row = np.arange(offset, offset + rows) - (st.num_frames if st.cfg else 0)
        cond = frame_of_row >= 0
        residual = hidden_states
        if attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        query, key, value = (attn.to_q(hidden_states), attn.to_k(encoder_hidden_states),
                             attn.to_v(encoder_hidden_states))
        heads, tokens = attn.heads, key.shape[1]
        head_dim = key.shape[-1] // heads
        query = query.view(rows, -1, heads, head_dim).transpose(1, 2)
        key = key.view(rows, -1, heads, head_dim).transpose(1, 2)
        value = value.view(rows, -1, heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)

        bias, h, w = st.row_bias(pixels, query.device, query.dtype)
        # The bias is padded to a multiple of 8 tokens and sliced, so its rows stay aligned.
        mask = bias[offset:offset + rows, ..., :tokens] if cond.any() and st.weight > 0 else None
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, tokens, rows)
            attention_mask = attention_mask.view(rows, heads, -1, attention_mask.shape[-1])
            mask = attention_mask if mask is None else mask + attention_mask

        if st.recorder is not None:
            scores = (query @ key.transpose(-1, -2)) * attn.scale
            scores = scores if mask is None else scores + mask
            probs = scores.float().softmax(dim=-1).to(query.dtype)
            if cond.any():
                st.recorder(self.name, probs[torch.as_tensor(np.flatnonzero(cond),
                                                             device=query.device)],
                            frame_of_row[cond], h, w)
            out = probs @ value
        else:
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        out = out.transpose(1, 2).reshape(rows, -1, heads * head_dim).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def spatial_cross_attention_names(unet: Any) -> list[str]:
    """Processor names of the UNet's spatial cross-attention layers (not the motion modules)."""
    return [n for n in unet.attn_processors
            if ".attentions." in n and n.endswith("attn2.processor")]


def install_grounding(unet: Any, state: GroundingState) -> int:
    """Put :class:`GroundedCrossAttention` on every spatial cross-attention layer; returns how
    many. Idempotent: an installed processor is re-pointed at ``state``."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    processors = dict(unet.attn_processors)
    names = spatial_cross_attention_names(unet)
    for name in names:
        current = processors[name]
        base = current.base if isinstance(current, GroundedCrossAttention) else current
        processors[name] = GroundedCrossAttention(state, name, base or AttnProcessor2_0())
    unet.set_attn_processor(processors)
    return len(names)


def remove_grounding(unet: Any) -> None:
    """Restore the processors that :func:`install_grounding` replaced."""
    processors = {n: (p.base if isinstance(p, GroundedCrossAttention) else p)
                  for n, p in unet.attn_processors.items()}
    unet.set_attn_processor(processors)
