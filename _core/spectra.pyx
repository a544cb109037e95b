# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Batched spectra of weight matrices: what SpectrumTracker records (:doc:`/theory/statistics`).

Three spectra of a block of R matrices, each ascending:

    symmetric   eigenvalues of a symmetric x (R, n, n)                  dsyevd, JOBZ = 'N'
    gram        eigenvalues of X = w^T w of w (R, N, M): M values :eq:`gram-update`  dsyrk + dsyevd
                (W^T W / N_h is the Marchenko-Pastur matrix :eq:`marchenko-pastur`)
    singular    singular values of w (R, N, M): min(N, M) values        dgesdd, JOBZ = 'N'

LAPACK comes from scipy.linalg.cython_lapack (see _linalg.pxi). Layout: a row-major
(rows, cols) array is the column-major (cols, rows) matrix of its transpose, so

    symmetric   the row-major x is its own column-major transpose; LAPACK's upper
                triangle ('U') is the row-major *lower* triangle (numpy.linalg.eigvalsh's
                default UPLO='L' reads the same entries);
    gram        dsyrk('U', 'N') on the column-major (M, N) matrix w^T forms w^T w directly;
    singular    the column-major (M, N) matrix w^T has the singular values of w.

The matrices are independent: one workspace serves the whole block and the loop over
replicas runs without the GIL. Inputs are never modified (LAPACK works on a copy).
"""
from libc.math cimport isfinite
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from scipy.linalg.cython_lapack cimport dgesdd

import numpy as np

include "_linalg.pxi"


cdef int spectrum_size(int kind, int n_rows, int n_cols) noexcept nogil:
    if kind == SPECTRUM_SINGULAR:
        return n_rows if n_rows < n_cols else n_cols
    return n_cols


cdef int spectra_work_alloc(SpectraWork* work, int kind, int n_rows,
                            int n_cols) noexcept nogil:
    cdef Py_ssize_t scratch
    cdef int m, n, mn, mx, info = 0, one = 1, query = -1, iwork_query = 0
    cdef double optimal = 0.0, dummy = 0.0
    work.kind = kind
    work.n_rows = n_rows
    work.n_cols = n_cols
    work.matrix = NULL
    work.lapack_work = NULL
    work.lapack_iwork = NULL
    if kind == SPECTRUM_SINGULAR:
        scratch = <Py_ssize_t> n_rows * n_cols
        mn = n_rows if n_rows < n_cols else n_cols
        mx = n_rows + n_cols - mn
        # LAPACK's minimum for JOBZ = 'N', raised to its own optimum (asked below).
        work.lwork = 3 * mn + (mx if mx > 7 * mn else 7 * mn)
        work.liwork = 8 * mn
    else:
        scratch = <Py_ssize_t> n_cols * n_cols
        work.lwork = <int> eigvals_lwork(n_cols)  # dsyevd, eigenvalues only (sym_eigvals_upper)
        work.liwork = 1
    work.matrix = <double*> malloc(scratch * sizeof(double))
    if work.matrix == NULL:
        return -1
    if kind == SPECTRUM_SINGULAR:
        m = n_cols
        n = n_rows
        dgesdd(b'N', &m, &n, work.matrix, &m, &dummy, &dummy, &one, &dummy, &one,
               &optimal, &query, &iwork_query, &info)
        if info == 0 and optimal > work.lwork:
            work.lwork = <int> optimal
    work.lapack_work = <double*> malloc(work.lwork * sizeof(double))
    work.lapack_iwork = <int*> malloc(work.liwork * sizeof(int))
    if work.lapack_work == NULL or work.lapack_iwork == NULL:
        spectra_work_free(work)
        return -1
    return 0


cdef void spectra_work_free(SpectraWork* work) noexcept nogil:
    free(work.matrix)
    free(work.lapack_work)
    free(work.lapack_iwork)
    work.matrix = NULL
    work.lapack_work = NULL
    work.lapack_iwork = NULL


cdef int spectrum_one(const double* a, double* values, SpectraWork* work) noexcept nogil:
    cdef int m, n, i, k, info = 0, one = 1
    cdef double dummy = 0.0, swap
    if work.kind == SPECTRUM_GRAM:
        gram_upper(work.n_rows, work.n_cols, 1.0, a, work.matrix)
        return sym_eigvals_upper(work.n_cols, work.matrix, values, work.lapack_work,
                                 work.lapack_iwork)
    if work.kind == SPECTRUM_SYMMETRIC:
        memcpy(work.matrix, a, <Py_ssize_t> work.n_cols * work.n_cols * sizeof(double))
        return sym_eigvals_upper(work.n_cols, work.matrix, values, work.lapack_work,
                                 work.lapack_iwork)
    # SPECTRUM_SINGULAR: dgesdd on the column-major (M, N) matrix w^T, values descending.
    memcpy(work.matrix, a, <Py_ssize_t> work.n_rows * work.n_cols * sizeof(double))
    m = work.n_cols
    n = work.n_rows
    dgesdd(b'N', &m, &n, work.matrix, &m, values, &dummy, &one, &dummy, &one,
           work.lapack_work, &work.lwork, work.lapack_iwork, &info)
    k = m if m < n else n
    for i in range(k // 2):
        swap = values[i]
        values[i] = values[k - 1 - i]
        values[k - 1 - i] = swap
    return info


cdef inline bint all_finite(const double* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not isfinite(a[i]):
            return False
    return True


cdef object _batched(const double[:, :, ::1] a, int kind, str name):
    """(R, n_values) ascending spectra of the R matrices a[r] (the loop without the GIL)."""
    cdef Py_ssize_t n_rep = a.shape[0], r, size = a.shape[1] * a.shape[2]
    if a.shape[1] < 1 or a.shape[2] < 1:
        raise ValueError(f"{name}: each matrix needs at least one row and one column, "
                         f"got shape {tuple(a.shape)[:3]}")
    if a.shape[1] > 46340 or a.shape[2] > 46340:
        raise ValueError(f"{name}: matrices larger than 46340 x 46340 exceed LAPACK's int "
                         f"indexing, got shape {tuple(a.shape)[:3]}")
    cdef int n_rows = a.shape[1], n_cols = a.shape[2]
    cdef int n_values = spectrum_size(kind, n_rows, n_cols)
    out = np.empty((n_rep, n_values))
    if n_rep == 0:
        return out
    cdef double[:, ::1] values = out
    cdef SpectraWork work
    cdef Py_ssize_t bad = -1
    cdef int info = 0
    if spectra_work_alloc(&work, kind, n_rows, n_cols) != 0:
        raise MemoryError()
    with nogil:
        for r in range(n_rep):
            # LAPACK's behaviour on NaN or inf is undefined (it may not return): check first.
            if not all_finite(&a[r, 0, 0], size):
                bad = r
                break
            info = spectrum_one(&a[r, 0, 0], &values[r, 0], &work)
            if info != 0:
                bad = r
                break
        spectra_work_free(&work)
    if bad >= 0 and info == 0:
        raise ValueError(f"{name}: matrix {bad} of the batch has non-finite entries")
    if bad >= 0:
        raise np.linalg.LinAlgError(
            f"{name}: LAPACK did not converge on matrix {bad} of the batch (info = {info})")
    return out


def eigvalsh_batched(const double[:, :, ::1] x not None):
    """Ascending eigenvalues (R, N) of R symmetric matrices x (R, N, N), float64 C-contiguous.

    Only the lower triangle of each row-major x[r] is read (as numpy.linalg.eigvalsh does);
    the caller checks symmetry. dsyevd, eigenvalues only, without the GIL.

    Parameters
    ----------
    x : numpy.ndarray
        (R, N, N) symmetric matrices, float64, C-contiguous.

    Returns
    -------
    numpy.ndarray
        (R, N) ascending eigenvalues; NaN where LAPACK failed.

    Raises
    ------
    ValueError
        If the matrices are not square.
    """
    if x.shape[1] != x.shape[2]:
        raise ValueError(f"x: each matrix must be square, got shape {tuple(x.shape)[:3]}")
    return _batched(x, SPECTRUM_SYMMETRIC, "x")


def gram_eigvalsh_batched(const double[:, :, ::1] w not None):
    """Ascending eigenvalues (R, M) of w[r]^T w[r] for w (R, N, M), float64 C-contiguous.

    For N < M the first M - N values are zero up to rounding (they may come out as tiny
    negative numbers). dsyrk + dsyevd, without the GIL.

    Parameters
    ----------
    w : numpy.ndarray
        (R, N, M) matrices, float64, C-contiguous.

    Returns
    -------
    numpy.ndarray
        (R, M) ascending eigenvalues of each w[r]^T w[r].
    """
    return _batched(w, SPECTRUM_GRAM, "w")


def singular_values_batched(const double[:, :, ::1] w not None):
    """Ascending singular values (R, min(N, M)) of w (R, N, M), float64 C-contiguous.

    dgesdd with JOBZ = 'N' (no singular vectors), without the GIL.

    Parameters
    ----------
    w : numpy.ndarray
        (R, N, M) matrices, float64, C-contiguous.

    Returns
    -------
    numpy.ndarray
        (R, min(N, M)) ascending singular values.
    """
    return _batched(w, SPECTRUM_SINGULAR, "w")
