# The status of a replica, one enum for every kernel (cimport it from dysonlearn._core.status).
#
# A model's step and its state check return one of these; the shared driver (_driver.pxi)
# stops a replica at the first step whose status is not DL_OK, sets failed[r] = 1 and
# fail_step[r] = that step, and, when the caller asks for it, status[r] = the code (the
# array API's `status` array; kernels.Status names the codes in Python).
#
#   DL_OK             alive
#   DL_NONFINITE      the state left the finite numbers (inf or NaN)
#   DL_ESCAPED        the state left its bound or domain: |W_ij| > bound, the RBM's max
#                     eigenvalue of sigma_h^2 W^T W reached mu^2 :eq:`rbm-kernel`, a Dyson
#                     level outside [0, mu^2)
#   DL_LAPACK_FAILED  LAPACK returned info != 0 on this replica's matrix (a spectrum at a
#                     snapshot, or the eigenproblem of a Dyson step)
cdef enum dl_status:
    DL_OK = 0
    DL_NONFINITE = 1
    DL_ESCAPED = 2
    DL_LAPACK_FAILED = 3
