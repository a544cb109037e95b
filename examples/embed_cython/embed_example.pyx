# cython: language_level=3, boundscheck=False, wraparound=False
"""Train one Gaussian RBM replica with dysonlearn's compiled PCD kernel, from Cython.

The kernel is reached through its .pxd (``dysonlearn._core.rbm``): no Python call inside
the loop, the GIL released, our own arrays and our own bit generator.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t
from numpy.random cimport bitgen_t

from dysonlearn._core.rbm cimport (
    PCD_OK, RBMParams, RBMWork, dl_normal_source, pcd_check, pcd_run, rbm_params_init,
    rbm_work_alloc, rbm_work_free,
)

import numpy as np


def train(double[:, ::1] weights, double[:, ::1] chains, const double[:, ::1] c_target,
          object bit_generator, double lr, double mu, int k, int64_t steps):
    """Train in place for `steps` PCD steps; return the final spectrum of W^T W (N_v,) and
    the step of divergence (-1 if none)."""
    cdef RBMParams p
    rbm_params_init(&p)  # every field its default first (fields added later included)
    p.n_visible = weights.shape[1]
    p.n_hidden = weights.shape[0]
    p.batch_size = chains.shape[0]
    p.k = k
    p.lr = lr
    p.mu = mu
    p.sigma_h = 1.0
    p.sampled_target = False
    p.collapsed = True
    cdef RBMWork work
    cdef dl_normal_source normals
    normals.bitgen = <bitgen_t*> PyCapsule_GetPointer(bit_generator.capsule, b"BitGenerator")
    normals.method = 0  # the ziggurat
    normals.buffer = NULL
    normals.position = 0
    cdef int64_t last = steps
    spectrum = np.full(p.n_visible, np.nan)
    cdef double[::1] out = spectrum
    cdef int64_t status
    if rbm_work_alloc(&work, &p) != 0:
        raise MemoryError()
    with nogil:
        status = pcd_run(&p, &weights[0, 0], &chains[0, 0], &c_target[0, 0], NULL, &normals,
                         &work, 0, steps, &last, 1, &out[0])
        rbm_work_free(&work)
    return spectrum, status
