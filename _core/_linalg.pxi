# Small dense linear algebra shared by the kernels, included textually so that each
# extension module stays self-contained (no cross-module C-API imports at run time).
# BLAS/LAPACK come from scipy.linalg.cython_blas / cython_lapack: the same library SciPy
# links, never linked by hand. All matrices are column-major as BLAS sees them; a
# row-major (rows, cols) array is the column-major (cols, rows) matrix of its transpose.

from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, dsymm, dsyrk, dtrmm
from scipy.linalg.cython_lapack cimport dpotrf, dsyevd


cdef inline double* alloc_work(Py_ssize_t doubles, int** lapack_iwork) noexcept nogil:
    """One block of `doubles` doubles plus the int workspace of dsyevd (its caller frees
    both); NULL, with nothing left allocated, when memory is short."""
    cdef double* block = <double*> malloc(doubles * sizeof(double))
    lapack_iwork[0] = <int*> malloc(sizeof(int))
    if block == NULL or lapack_iwork[0] == NULL:
        free(block)
        free(lapack_iwork[0])
        lapack_iwork[0] = NULL
        return NULL
    return block


cdef inline void gram_upper(int n_rows, int n_cols, double scale, const double* w,
                            double* x) noexcept nogil:
    """Upper triangle of x = scale * w^T w, w row-major (n_rows, n_cols), x (n_cols, n_cols)."""
    cdef double zero = 0.0
    dsyrk(b'U', b'N', &n_cols, &n_rows, &scale, <double*> w, &n_cols, &zero, x, &n_cols)


# dsyevd (eigenvalues only) reduces the matrix to tridiagonal form by dsytrd, blocked when its
# workspace allows (n * block doubles), unblocked otherwise. Measured on one core (OpenBLAS):
# the blocked reduction is slower up to n ~ 120 (0.8x at n = 33, 0.97x at 100), faster
# beyond (1.1x at 150, 1.17x at 300, 1.36x at 1000); dsyevr is no faster than either. So the
# workspace is the minimum below EIGVALS_BLOCKED_FROM, where the bits of every spectrum stay
# those of the unblocked reduction, and room for any block size (EIGVALS_BLOCK >= LAPACK's
# ilaenv block for dsytrd, 32) from there on.
cdef enum:
    EIGVALS_BLOCKED_FROM = 128
    EIGVALS_BLOCK = 64


cdef inline Py_ssize_t eigvals_lwork(Py_ssize_t n) noexcept nogil:
    """Doubles of workspace sym_eigvals_upper needs (and uses) for an n x n matrix."""
    return 2 * n + 1 + (EIGVALS_BLOCK * n if n >= EIGVALS_BLOCKED_FROM else 0)


cdef inline int sym_eigvals_upper(int n, double* x, double* eigvals, double* work,
                                  int* iwork) noexcept nogil:
    """Ascending eigenvalues of the symmetric matrix whose upper triangle is x (destroyed).

    work must hold eigvals_lwork(n) doubles and iwork one int (dsyevd, eigenvalues only).
    Returns LAPACK's info (0 on success).
    """
    cdef int lwork = <int> eigvals_lwork(n), liwork = 1, info = 0
    dsyevd(b'N', b'U', &n, x, &n, eigvals, work, &lwork, iwork, &liwork, &info)
    return info


cdef inline bint below_bound(int n, double bound, double* x) noexcept nogil:
    """True when every eigenvalue of the symmetric x (upper triangle, destroyed) is < bound.

    Exact test by Cholesky factorisation of bound * 1 - x: it succeeds if and only if the
    matrix is positive definite. Costs n^3 / 3 flops, far less than an eigensolver.
    """
    cdef int i, j, info = 0
    for j in range(n):
        for i in range(j):
            x[i + j * n] = -x[i + j * n]
        x[j + j * n] = bound - x[j + j * n]
    dpotrf(b'U', &n, x, &n, &info)
    return info == 0
