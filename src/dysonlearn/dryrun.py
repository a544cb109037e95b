"""A run's plan without the run: points, replica-steps, blocks, memory and a wall time
estimated from a short calibration on this machine. Writes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import backends
from .ensemble import BlockTask, plan_blocks, record_bytes, train_block
from .models import model_for
from .progress import duration
from .validation import format_bytes

# The calibration trains two replicas for about this long per scan point.
_CALIBRATION_SECONDS = 0.2


@dataclass(frozen=True)
class PointPlan:
    """The plan of one scan point.

    Attributes
    ----------
    label : str
        The point's scanned values.
    replicas, steps, blocks : int
        Replicas, steps per replica, and blocks of replicas the run is cut into.
    replica_steps : int
        replicas x steps.
    result_bytes, training_bytes : int
        Memory of the gathered results, and of one block in training (its state and its
        recorded spectra).
    seconds_per_replica_step : float
        Measured on this machine, one core.
    records : int
        Spectra recorded per replica (S).
    recording : str
        What is recorded, in words: "6 snapshots" or "a time series of 10001 records
        (every 10 steps from step 1000)".
    """

    label: str
    replicas: int
    steps: int
    blocks: int
    replica_steps: int
    result_bytes: int
    training_bytes: int
    seconds_per_replica_step: float
    records: int = 0
    recording: str = ""


def recording_text(config, replicas: int | None = None) -> str:
    """What a configuration records per replica, in words (``dysonlearn info`` and the dry
    run).

    Parameters
    ----------
    config : model configuration
    replicas : int, optional
        With it, the bytes of all replicas' spectra are said too.

    Returns
    -------
    str
        E.g. "6 snapshots" or "a time series of 10001 records (steps 1000, 1010, ...,
        101000: every 10 steps from step 1000)" (then ", 6.4 GB of spectra").
    """
    n = config.n_snapshots
    if config.is_time_series:
        last = config.burn_in + (n - 1) * config.record_every
        shown = ", ".join(str(config.burn_in + k * config.record_every) for k in range(min(n, 2)))
        shown += f", ..., {last}" if n > 3 else (f", {last}" if n == 3 else "")
        text = (f"a time series of {n} record{'s' if n != 1 else ''} (steps {shown}: every "
                f"{config.record_every} steps from step {config.burn_in})")  # fmt: skip
    else:
        text = f"{n} snapshots"
    if replicas is not None:
        text += f", {format_bytes(8.0 * replicas * n * config.n_modes)} of spectra"
    return text


def calibrate(config, bit_generator: str = "SFC64") -> float:
    """Seconds per replica-step of ``config`` on one core, from a short training run of two
    replicas (at most ``config.steps`` steps, about 0.2 s)."""
    model = model_for(config)
    guess = max(model.cost_per_replica_step(config), 1e-9)
    steps = int(min(config.steps, max(10, _CALIBRATION_SECONDS / (2 * guess))))
    if config.is_time_series:
        # As dense a recording as the run's: spectra can cost more than the steps.
        short = config.replace(steps=steps, burn_in=0,
                               record_every=min(config.record_every, steps))  # fmt: skip
    else:
        short = config.replace(steps=steps, snapshots=1)
    seeds = np.random.SeedSequence(0).spawn(2)
    task = BlockTask(short, seeds, 0, 0, bit_generator, "ziggurat", False, steps)
    with backends.single_threaded_blas():
        start = time.perf_counter()
        train_block(task)
        elapsed = time.perf_counter() - start
    return elapsed / (2 * steps)


def plan(experiment, labels: list[str], workers: int) -> list[PointPlan]:
    """The plan of every point of ``experiment`` run on ``workers`` workers."""
    plans = []
    for config, label in zip(experiment.points, labels, strict=True):
        model = model_for(config)
        rate = calibrate(config, experiment.bit_generator)
        replicas = experiment.replicas
        blocks = plan_blocks(replicas, workers, rate * config.steps, None,
                             model.bytes_per_replica(config), record_bytes(config))  # fmt: skip
        largest = max(stop - start for start, stop in blocks)
        plans.append(PointPlan(
            label, replicas, config.steps, len(blocks), replicas * config.steps,
            replicas * config.result_bytes_per_replica,
            config.shared_bytes + largest * (config.state_bytes_per_replica
                                             + config.result_bytes_per_replica),
            rate, config.n_snapshots, recording_text(config),
        ))  # fmt: skip
    return plans


def describe_plan(plans: list[PointPlan], workers: int) -> list[str]:
    """The plan as lines of text, one per point and a total."""
    lines = []
    total_steps, total_seconds = 0, 0.0
    for p in plans:
        seconds = p.replica_steps * p.seconds_per_replica_step / workers
        total_steps += p.replica_steps
        total_seconds += seconds
        lines.append(
            f"  {p.label}: {p.replicas} replicas x {p.steps} steps = {p.replica_steps:.3g} "
            f"replica-steps in {p.blocks} blocks; {p.recording} per replica; memory "
            f"{format_bytes(p.result_bytes)} of results, {format_bytes(p.training_bytes)} per "
            "block in training; "
            f"{p.seconds_per_replica_step * 1e6:.3g} us per replica-step; about "
            f"{duration(seconds)}"
        )
    lines.append(
        f"total: {total_steps:.3g} replica-steps, about {duration(total_seconds)} on {workers} "
        "worker(s), start-up and analysis not included; nothing was written"
    )
    return lines
