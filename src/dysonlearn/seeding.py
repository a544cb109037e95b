"""Seeds: the bit generators a run may use, and how one root seed branches into streams.

A run has one root seed. Each scan point gets its own seed, derived from the root when
there are several points (their replicas would otherwise share random streams across the
scan); replica i of a point is trained from ``SeedSequence(point_seed).spawn(R)[i]`` alone;
what every replica of a point shares (a common data set) comes from a branch of the point
seed with spawn key :data:`SHARED_KEY`, which no replica's key can equal. These functions
are the only place where seeds are derived: the library, the store and the tests all call
them, so that the same seed gives bitwise the same result whichever path trained it.
"""

from __future__ import annotations

import numpy as np

#: NumPy bit generators a replica may be driven by ("SFC64", the fastest, by default).
BIT_GENERATORS = ("SFC64", "PCG64", "PCG64DXSM", "Philox", "MT19937")
DEFAULT_BIT_GENERATOR = "SFC64"

#: Spawn key of the shared branch of a point's seed; replicas have keys (i,), never length 2.
SHARED_KEY = (0x5EED, 0)


def fresh_seed() -> int:
    """A root seed drawn from the operating system's entropy.

    Returns
    -------
    int
        A seed >= 0 (128 bits); record it to reproduce the run.
    """
    return int(np.random.SeedSequence().entropy)


def point_seeds(root_seed: int, n_points: int) -> list[int]:
    """The seed of each of ``n_points`` scan points of a run with root seed ``root_seed``.

    A single point uses the root seed itself (so that a one-point experiment and
    ``run_ensemble`` with the same seed agree); several points get independent 128-bit
    seeds spawned from it.

    Parameters
    ----------
    root_seed : int
        The run's root seed, >= 0.
    n_points : int
        Number of scan points, >= 1.

    Returns
    -------
    list of int
        One seed per point, in scan order.
    """
    if n_points == 1:
        return [int(root_seed)]
    children = np.random.SeedSequence(root_seed).spawn(n_points)
    return [int.from_bytes(c.generate_state(4, np.uint32).tobytes(), "little") for c in children]


def replica_seeds(seed: int, replicas: int) -> list[np.random.SeedSequence]:
    """The seed sequence of each replica of an ensemble (of one scan point).

    Parameters
    ----------
    seed : int
        The point's seed.
    replicas : int
        Number of replicas R.

    Returns
    -------
    list of numpy.random.SeedSequence
        ``SeedSequence(seed).spawn(replicas)``: replica i's stream depends on i alone, not
        on block size, worker count or backend.
    """
    return np.random.SeedSequence(seed).spawn(replicas)


def shared_generator(seed: int, bit_generator: str = DEFAULT_BIT_GENERATOR) -> np.random.Generator:
    """The generator of what all replicas of a point share (a common data set).

    Parameters
    ----------
    seed : int
        The point's seed.
    bit_generator : str
        One of :data:`BIT_GENERATORS`.

    Returns
    -------
    numpy.random.Generator
        Driven by the branch of ``seed`` with spawn key :data:`SHARED_KEY`.
    """
    shared = np.random.SeedSequence(seed, spawn_key=SHARED_KEY)
    return np.random.Generator(getattr(np.random, bit_generator)(shared))


__all__ = [
    "BIT_GENERATORS",
    "DEFAULT_BIT_GENERATOR",
    "SHARED_KEY",
    "fresh_seed",
    "point_seeds",
    "replica_seeds",
    "shared_generator",
]
