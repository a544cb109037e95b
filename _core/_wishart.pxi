# The batch covariance C_B = X^T X / B of B standard normal inputs in R^n drawn from its
# exact law, without the inputs: B C_B is Wishart(B, 1_n), and by Bartlett's decomposition
# B C_B = L L^T with L lower triangular, L_ii^2 ~ chi^2(B - i) and L_ij ~ N(0, 1) below the
# diagonal (B >= n). n (n + 1) / 2 variates instead of B n. Shared by the teacher-student and
# deep linear kernels; include after _normal.pxi (dl_normal_source).
from libc.math cimport sqrt
from libc.string cimport memset


cdef inline void wishart_covariance(int n, int nb, dl_normal_source* variates, double* L,
                                    double* cov) noexcept nogil:
    """cov (n, n), both triangles, <- L L^T / B of a Bartlett factor L drawn into L (n, n);
    variates in the order: for each row i, chi^2(B - i) then the normals L_i0 .. L_i,i-1."""
    cdef int i, j, k
    cdef double inv_b = 1.0 / nb, acc
    memset(L, 0, n * n * sizeof(double))
    for i in range(n):
        L[i * n + i] = sqrt(dl_draw_chisquare(variates, nb - i))
        if i > 0:
            dl_draw_normals(variates, L + i * n, i)
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(j + 1):
                acc += L[i * n + k] * L[j * n + k]
            cov[i * n + j] = acc * inv_b
            cov[j * n + i] = acc * inv_b
