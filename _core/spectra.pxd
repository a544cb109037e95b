# Cimportable interface of the batched spectrum kernels: the spectrum of any weight matrix,
# as SpectrumTracker records it (:doc:`/theory/statistics`; X = W^T W of :eq:`gram-update`,
# Marchenko-Pastur :eq:`marchenko-pastur`).
#
# Layout of one matrix, C-contiguous float64, row-major:
#   symmetric x  (n, n)
#   weights   w  (n_rows, n_cols)
# LAPACK sees a row-major (rows, cols) array as the column-major (cols, rows) matrix of its
# transpose; none of the spectra below changes under transposition of its input.
# The inputs are never modified: each kernel copies into work.matrix, which LAPACK destroys.

cdef enum:
    SPECTRUM_SYMMETRIC = 0  # eigenvalues of a symmetric x (its row-major lower triangle)
    SPECTRUM_GRAM = 1       # eigenvalues of w^T w: n_cols values
    SPECTRUM_SINGULAR = 2   # singular values of w: min(n_rows, n_cols) values


cdef struct SpectraWork:
    int kind
    int n_rows
    int n_cols
    # scratch, destroyed by LAPACK: (n, n), (n_cols, n_cols) or (n_rows, n_cols) for the
    # three kinds
    double* matrix
    double* lapack_work     # lwork doubles
    int lwork
    int* lapack_iwork       # liwork ints
    int liwork


# Number of values one matrix of the given kind and shape yields.
cdef int spectrum_size(int kind, int n_rows, int n_cols) noexcept nogil
# 0 on success, -1 when memory is short (nothing is left allocated then). For
# SPECTRUM_SYMMETRIC, n_rows = n_cols = n.
cdef int spectra_work_alloc(SpectraWork* work, int kind, int n_rows,
                            int n_cols) noexcept nogil
cdef void spectra_work_free(SpectraWork* work) noexcept nogil
# The ascending spectrum of one matrix of the work's kind and shape into
# values[0:spectrum_size]; returns LAPACK's info (0 on success).
cdef int spectrum_one(const double* a, double* values, SpectraWork* work) noexcept nogil
