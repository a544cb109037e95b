"""A run's plan without the run: points, replica-steps, blocks, memory and a wall time
estimated from a short calibration on this machine. Writes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import backends
from .ensemble import BlockTask, plan_blocks, train_block
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
        Memory of the gathered results, and of one block in training.
    seconds_per_replica_step : float
        Measured on this machine, one core.
    """

    label: str
    replicas: int
    steps: int
    blocks: int
    replica_steps: int
    result_bytes: int
    training_bytes: int
    seconds_per_replica_step: float


def calibrate(config, bit_generator: str = "SFC64") -> float:
    """Seconds per replica-step of ``config`` on one core, from a short training run of two
    replicas (at most ``config.steps`` steps, about 0.2 s)."""
    model = model_for(config)
    guess = max(model.cost_per_replica_step(config), 1e-9)
    steps = int(min(config.steps, max(10, _CALIBRATION_SECONDS / (2 * guess))))
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
                             model.bytes_per_replica(config))  # fmt: skip
        largest = max(stop - start for start, stop in blocks)
        plans.append(PointPlan(
            label, replicas, config.steps, len(blocks), replicas * config.steps,
            replicas * config.result_bytes_per_replica,
            config.shared_bytes + largest * config.state_bytes_per_replica, rate,
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
            f"replica-steps in {p.blocks} blocks; memory {format_bytes(p.result_bytes)} of "
            f"results, {format_bytes(p.training_bytes)} per block in training; "
            f"{p.seconds_per_replica_step * 1e6:.3g} us per replica-step; about "
            f"{duration(seconds)}"
        )
    lines.append(
        f"total: {total_steps:.3g} replica-steps, about {duration(total_seconds)} on {workers} "
        "worker(s), start-up and analysis not included; nothing was written"
    )
    return lines
