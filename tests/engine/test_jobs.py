import pytest

from engine.errors import Cancelled
from engine.jobs import CancelToken, EtaEstimator, Log, Progress, run_job, sub_job


def counting_job(token, n=4):
    for i in range(n):
        token.raise_if_cancelled()
        yield Progress("count", (i + 1) / n)
    yield Log("done counting")
    return n * 10


def test_run_job_returns_result_and_passes_events():
    events = []
    assert run_job(counting_job(CancelToken()), events.append) == 40
    assert [e.fraction for e in events if isinstance(e, Progress)] == [0.25, 0.5, 0.75, 1.0]
    assert isinstance(events[-1], Log)


def test_sub_job_maps_progress_into_its_span():
    def outer(token):
        r = yield from sub_job(counting_job(token), start=0.5, end=1.0, stage="outer")
        return r + 1
    events = []
    assert run_job(outer(CancelToken()), events.append) == 41
    fr = [e.fraction for e in events if isinstance(e, Progress)]
    assert fr == [0.625, 0.75, 0.875, 1.0]
    assert all(e.stage == "outer" for e in events if isinstance(e, Progress))


def test_cancel_stops_at_the_next_check():
    token = CancelToken()
    job = counting_job(token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        next(job)


def test_eta_is_linear_in_remaining_work():
    eta = EtaEstimator(started=0.0)
    import engine.jobs as jobs
    real = jobs.time.monotonic
    try:
        jobs.time.monotonic = lambda: 10.0  # 10 s for the first quarter
        assert eta.update(0.25) == pytest.approx(30.0)
        assert eta.update(0.0) is None
    finally:
        jobs.time.monotonic = real
