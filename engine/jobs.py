"""Long work as generators of small event values, with cooperative cancel.

A job is a generator that yields :class:`Progress`, :class:`Preview` and :class:`Log` events
and returns its result. The CLI prints the events; the GUI worker turns them into Qt signals.
Cancelling is cooperative: the job calls ``token.raise_if_cancelled()`` between stages and at
every inner step (a denoising step, a chunk of audio).

>>> def work(token):
...     for i in range(3):
...         token.raise_if_cancelled()
...         yield Progress("count", (i + 1) / 3)
...     return "done"
>>> run_job(work(CancelToken()))
'done'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import Cancelled

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """``fraction`` of ``stage`` done (0..1); ``eta_s`` is the estimated seconds left, if known."""

    stage: str
    fraction: float
    eta_s: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Preview:
    """A cheap look at the work so far: an RGB uint8 image ``(H, W, 3)`` for frame ``index``."""

    image: Any
    index: int = 0
    total: int = 1
    stage: str = ""


@dataclass(frozen=True)
class Log:
    """A message for the user. ``level`` is ``info``, ``warning`` or ``error``."""

    message: str
    level: str = "info"


Event = Progress | Preview | Log
Job = Generator[Event, None, T]


class CancelToken:
    """Thread-safe cancel flag shared by the job and whoever may cancel it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass
class EtaEstimator:
    """Seconds left from the rate of progress so far (linear in work, smoothed)."""

    started: float = field(default_factory=time.monotonic)
    _rate: float | None = None

    def update(self, fraction: float) -> float | None:
        elapsed = time.monotonic() - self.started
        if fraction <= 0.0 or elapsed <= 0.0:
            return None
        rate = fraction / elapsed
        self._rate = rate if self._rate is None else 0.7 * self._rate + 0.3 * rate
        return max(0.0, (1.0 - fraction) / self._rate)


def stage_progress(stage: str, *, eta: EtaEstimator | None = None) -> Callable[..., Progress]:
    """A small factory: ``report(0.5, detail=...)`` -> :class:`Progress` with an ETA."""
    eta = eta or EtaEstimator()

    def report(fraction: float, detail: str = "") -> Progress:
        fraction = min(1.0, max(0.0, float(fraction)))
        return Progress(stage, fraction, eta.update(fraction), detail)

    return report


def run_job(job: Job[T], on_event: Callable[[Event], None] | None = None) -> T:
    """Drive a job to completion, passing each event to ``on_event``; return its result."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)


def sub_job(job: Job[T], *, start: float, end: float, stage: str | None = None) -> Job[T]:
    """Re-yield a nested job's events, mapping its progress into ``[start, end]``."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, Progress):
            event = Progress(stage or event.stage, start + (end - start) * event.fraction,
                             event.eta_s, event.detail)
        yield event
