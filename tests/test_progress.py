"""Progress over a scan: each point labelled with its place, the scan's time left."""

import io

import pytest

import dysonlearn as dl
from dysonlearn import progress as progress_module
from dysonlearn.progress import Progress, ScanPosition, ScanProgress, duration, reporter

SCAN = {
    "model": {"kind": "dyson", "kappa": [2.0, 2.0]},
    "train": {"lr": [0.1, 0.2], "batch_size": 16, "steps": 50, "snapshots": 2},
    "ensemble": {"replicas": 4, "seed": 3},
}


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so that a bar is drawn into it."""

    def isatty(self) -> bool:
        return True


def test_the_scan_fraction_weighs_each_point_by_its_work(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    scan = ScanProgress([1.0, 3.0], enabled=False)  # the second point costs three times more
    assert scan.eta() is None  # nothing done: nothing to estimate from
    bar = scan.point(0, total=100, desc="lr=0.1")
    bar.update(100)
    assert scan.fraction_done() == 0.25
    scan.point(1, total=40, desc="lr=0.2").update(20)
    assert scan.fraction_done() == pytest.approx(0.25 + 0.75 / 2)
    now[0] = 10.0  # 10 s for 62.5 per cent of the work: 6 s left
    assert scan.eta() == pytest.approx(10 * 0.375 / 0.625)


def test_a_point_is_labelled_with_its_place_and_parameters():
    scan = ScanProgress([1.0] * 6, enabled=False)
    assert scan.point(2, 10, "lr=0.1 B=16").desc == "[3/6] lr=0.1 B=16"
    assert reporter(ScanPosition(scan, 5), 10, "lr=0.2 B=8").desc == "[6/6] lr=0.2 B=8"


def test_log_lines_carry_the_point_and_the_scan_eta(monkeypatch):
    monkeypatch.setattr(progress_module, "_LOG_INTERVAL", 0.0)  # a line at every update
    stream = io.StringIO()
    scan = ScanProgress([2.0, 2.0], stream=stream)
    with scan.point(1, total=200, desc="lr=0.2 B=16") as bar:
        bar.update(100)
    first = stream.getvalue().splitlines()[0]
    assert first.startswith("[2/2] lr=0.2 B=16:  50.0% (100/200 replica-steps)")
    assert "; scan 75% done, ETA " in first


def test_a_terminal_bar_shows_the_scan_eta_in_its_postfix():
    stream = Terminal()
    scan = ScanProgress([1.0, 1.0], stream=stream)
    with scan.point(0, total=10, desc="lr=0.1") as bar:
        bar.update(10)
    shown = stream.getvalue()
    assert "[1/2] lr=0.1" in shown and "10.0/10.0" in shown
    assert "scan 50% done, ETA" in shown


def test_nothing_is_shown_when_disabled_and_a_callable_only_counts():
    stream = io.StringIO()
    with Progress(10, enabled=False, stream=stream) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
    counted = []
    with reporter(counted.append, 10) as bar:
        bar.update(4)
    assert counted == [4]


def test_durations_for_people():
    assert [duration(s) for s in (3.3, 42, 210, 7560, 4 * 86400)] == [
        "3.3 s", "42 s", "3.5 min", "2.1 h", "4 days"]  # fmt: skip


def test_a_scan_shows_each_point_with_its_place(tmp_path, capsys):
    dl.run_experiment(SCAN, tmp_path, backend="serial", progress=True)
    err = capsys.readouterr().err  # not a terminal: a last log line per point
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split(":")[0] for line in lines] == ["[1/2] lr=0.1", "[2/2] lr=0.2"]
    assert lines[-1].endswith("scan 100% done, ETA 0 s")
