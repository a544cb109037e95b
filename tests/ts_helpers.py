"""What the teacher-student tests share: the update in NumPy and one step's batch draws."""

import numpy as np

from dysonlearn import kernels


def reference_step(W, T, C, Xi, lr, noise):
    """One step :eq:`ts-update` in NumPy: W + lr (sym((T - W) C) + A Xi)."""
    G = (T - W) @ C
    return W + lr * ((G + G.T) / 2 + noise * Xi)


def one_step_draws(n, replicas, batch, sampler, seed):
    """(C_B, Xi_B) of R replicas' first step, each (R, n, n), read off the kernel itself.

    One step from W = 0 towards W_T = 1 with lr = 1, A = 0 leaves W = C_B exactly; with
    W_T = 0, A = 1 (the same generators, so the next step's draws) it leaves W = Xi_B.
    """
    identity = np.tile(np.eye(n), (replicas, 1, 1))
    gens = [np.random.SFC64(s) for s in np.random.SeedSequence(seed).spawn(replicas)]
    cov = np.zeros((replicas, n, n))
    kernels.teacher_student(cov, identity, gens, lr=1.0, noise=0.0, batch_size=batch, stop=1,
                            sampler=sampler)  # fmt: skip
    xi = np.zeros((replicas, n, n))
    kernels.teacher_student(xi, 0 * identity, gens, lr=1.0, noise=1.0, batch_size=batch,
                            stop=1, sampler=sampler)  # fmt: skip
    return cov, xi
