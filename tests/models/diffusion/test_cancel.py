"""Cancel stops the render within one denoising step, before any decoding, and leaves no
worker thread behind."""

from __future__ import annotations

import threading

import pytest

from engine.errors import Cancelled
from engine.jobs import CancelToken, Progress
from engine.protocols import Frame, RenderSettings

from .conftest import SIZE, make_layout

torch = pytest.importorskip("torch")


def counting(module, counter: list):
    forward = module.forward

    def wrapped(*args, **kwargs):
        counter.append(1)
        return forward(*args, **kwargs)

    module.forward = wrapped


def worker_threads():
    return [t for t in threading.enumerate() if t.name == "spa2v-denoise" and t.is_alive()]


@pytest.fixture
def counted(make_renderer):
    renderer = make_renderer()
    pipe = renderer._factory(False)
    unet_calls, vae_calls = [], []
    counting(pipe.unet, unet_calls)
    pipe.vae.decode = (lambda dec: (lambda *a, **k: (vae_calls.append(1), dec(*a, **k))[1]))(
        pipe.vae.decode)
    return renderer, unet_calls, vae_calls


def test_cancel_during_a_step_stops_at_the_end_of_that_step(counted):
    renderer, unet_calls, vae_calls = counted
    token = CancelToken()
    job = renderer.render(make_layout(3), RenderSettings(width=SIZE, height=SIZE, steps=5),
                          token)
    frames = []
    with pytest.raises(Cancelled):
        for event in job:
            if isinstance(event, Progress) and event.detail == "step 2/5":
                token.cancel()
            if isinstance(event, Frame):
                frames.append(event)
    # One batched UNet pass per step (guidance rows ride in the same batch): exactly the two
    # steps that ran before the cancel was seen, none after, and nothing decoded.
    assert len(unet_calls) == 2
    assert vae_calls == [] and frames == []
    assert worker_threads() == []


def test_cancel_before_the_start_does_no_work(counted):
    renderer, unet_calls, _ = counted
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list(renderer.render(make_layout(2), RenderSettings(width=SIZE, height=SIZE, steps=3),
                             token))
    assert unet_calls == []


def test_cancel_while_decoding_stops_between_chunks(counted):
    renderer, _, vae_calls = counted
    token = CancelToken()
    job = renderer.render(make_layout(4), RenderSettings(
        width=SIZE, height=SIZE, steps=2, options={"decode_chunk": 1}), token)
    frames = []
    with pytest.raises(Cancelled):
        for event in job:
            if isinstance(event, Frame):
                frames.append(event)
                token.cancel()
    assert len(frames) == 1 and len(vae_calls) == 1


def test_abandoning_the_job_stops_the_worker(counted):
    renderer, unet_calls, _ = counted
    job = renderer.render(make_layout(2), RenderSettings(width=SIZE, height=SIZE, steps=6),
                          CancelToken())
    for event in job:
        if isinstance(event, Progress) and event.detail == "step 1/6":
            break
    job.close()
    assert worker_threads() == []
    assert len(unet_calls) <= 2
