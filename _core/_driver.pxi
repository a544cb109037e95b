# The per-replica driver every model kernel shares: the loop over a block of replicas
# (replica-outer: one replica's state stays in cache for all its steps), the steps from
# start to stop, the snapshots, and the divergence flags. A model supplies its context and
# five small functions (below); the driver adds nothing to a step but the loop itself.
# Include after the model's .pxd (for dl_normal_source), _linalg.pxi and _bitgen.pxi.
from cpython.object cimport PyObject
from libc.math cimport NAN, isfinite

from dysonlearn._core.optim cimport optim_schedule, optim_t
from dysonlearn._core.status cimport (
    DL_ESCAPED, DL_LAPACK_FAILED, DL_NONFINITE, DL_OK,
)

STATUS = {"ok": DL_OK, "nonfinite": DL_NONFINITE, "escaped": DL_ESCAPED,
          "lapack_failed": DL_LAPACK_FAILED}

# The including model module defines (static, so that the C compiler inlines them into
# the loop: no indirect call per step):
#   ctypedef <its context struct> dl_model
#   cdef void dl_model_bind(dl_model* m, Py_ssize_t r)   point at replica r of the block
#   cdef int dl_model_check(dl_model* m)                 the dl_status of the state: the
#                                                        divergence check, at `start`
#   cdef int dl_model_step(dl_model* m, int64_t t, dl_normal_source* normals)
#                                                        step t in place: gradient, optimiser,
#                                                        the same check; a dl_status
#   cdef int dl_model_spectrum(dl_model* m, double* out) the spectrum; LAPACK's info
#   cdef int dl_model_n_values(const dl_model* m)        the spectrum's length
# and, for the segments of unchecked steps (dl_run_segments; a model that never uses them
# returns 1 from dl_model_segment and defines the other three as trivial stubs):
#   cdef int64_t dl_model_segment(dl_model* m)           the most steps a segment may run
#                                                        between two exact checks (<= 1:
#                                                        never segment: dl_run_replica's
#                                                        loop, unchanged)
#   cdef void dl_model_save(dl_model* m)                 copy the bound replica's state ...
#   cdef void dl_model_restore(dl_model* m)              ... and put it back
#   cdef int dl_model_step_unchecked(dl_model* m, int64_t t, dl_normal_source* normals)
#                                                        step t with only the cheap part of
#                                                        the check: DL_OK when that part
#                                                        certifies the state, DL_UNSURE
#                                                        when it cannot decide, or the
#                                                        failure it found
#   cdef int dl_model_check_margin(dl_model* m)          dl_model_check's verdict, DL_OK
#                                                        refined: DL_OK only with a margin
#                                                        to the edge (see rbm.pyx), DL_UNSURE
#                                                        when alive but near it
# (all noexcept nogil).

# Not a dl_status (those are >= 0): "alive, but not certified with a margin" (segments).
cdef enum:
    DL_UNSURE = -1


cdef inline int dl_record(dl_model* m, double* out) noexcept nogil:
    """A snapshot: the spectrum into out, or NaN and DL_LAPACK_FAILED when LAPACK reports
    failure, or NaN and DL_NONFINITE when it returns non-finite values (e.g. W^T W of a
    finite W overflowed): a failed snapshot marks the replica, it never records garbage."""
    cdef int i, status = DL_OK, n_values = dl_model_n_values(m)
    if dl_model_spectrum(m, out) != 0:
        status = DL_LAPACK_FAILED
    else:
        for i in range(n_values):
            if not isfinite(out[i]):
                status = DL_NONFINITE
                break
    if status != DL_OK:
        for i in range(n_values):
            out[i] = NAN
    return status


cdef inline Py_ssize_t first_snapshot(const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                                      int64_t start) noexcept nogil:
    """The index of the first snapshot at or after `start` (n_snapshots if none), by
    bisection: a dense time series has 10^4 and more snapshots, and a run asks once per
    replica per chunk of steps."""
    cdef Py_ssize_t s = 0, hi = n_snapshots, mid
    while s < hi:
        mid = s + (hi - s) // 2
        if snapshot_steps[mid] < start:
            s = mid + 1
        else:
            hi = mid
    return s


cdef int64_t dl_run_replica(dl_model* m, dl_normal_source* normals, int64_t start,
                            int64_t stop, const int64_t* snapshot_steps,
                            Py_ssize_t n_snapshots, double* eigenvalues,
                            int* status) noexcept nogil:
    """Advance the bound replica from step `start` to `stop`, recording snapshots.

    The spectrum at every snapshot step t with start <= t <= stop goes to
    eigenvalues[s * n_values:(s + 1) * n_values], s the snapshot's index. Returns -1 if the
    replica is alive at `stop`, otherwise the step at which it failed (`start` if the
    incoming state already fails its check), with the dl_status in *status; later
    snapshots are left untouched.
    """
    cdef Py_ssize_t s = first_snapshot(snapshot_steps, n_snapshots, start)
    cdef Py_ssize_t n_values = dl_model_n_values(m)
    cdef int64_t t, next_snapshot
    cdef int code
    # One comparison a step: the step of the next snapshot (past `stop` when none is left).
    next_snapshot = snapshot_steps[s] if s < n_snapshots else stop + 1
    code = dl_model_check(m)
    t = start
    while code == DL_OK:
        if t == next_snapshot:
            code = dl_record(m, eigenvalues + s * n_values)
            if code != DL_OK:
                break
            s += 1
            next_snapshot = snapshot_steps[s] if s < n_snapshots else stop + 1
        if t == stop:
            break
        t += 1
        code = dl_model_step(m, t, normals)
    status[0] = code
    return -1 if code == DL_OK else t


cdef int generator_state(PyObject* generators, Py_ssize_t r, PyObject* saved,
                         bint restore) noexcept with gil:
    """Save generators[r]'s state into saved[0] (a list), or restore it from there: the
    BitGenerator's own state property, which every numpy bit generator has; its bitgen_t
    stays the same object. 0, or -1 if Python refused (the caller then does not segment)."""
    try:
        if restore:
            (<object> generators)[r].state = (<list> saved)[0]
        else:
            (<list> saved)[0] = (<object> generators)[r].state
        return 0
    except BaseException:
        return -1


cdef int64_t dl_run_segments(dl_model* m, dl_normal_source* normals, PyObject* generators,
                             Py_ssize_t r, PyObject* saved, int64_t start, int64_t stop,
                             const int64_t* snapshot_steps, Py_ssize_t n_snapshots,
                             double* eigenvalues, int* status) noexcept nogil:
    """dl_run_replica in segments: the same result, every bit, with the exact check only at
    a segment's end (the guarantee and its one exception: docs/guide/performance.rst).

    A segment is up to dl_model_segment(m) steps, never past the next snapshot nor `stop`.
    Before it, the replica's state and its generator's state (generators[r], saved in the
    list `saved`) are saved; the steps run with only the cheap part of the check after
    each, and at the end the exact check runs with a margin. If a cheap check on the way
    fails, or the end state fails or is alive but near the edge (DL_UNSURE), both states
    are restored and the segment replayed one step at a time, each with the full check:
    the replay draws the same normals, so flags, fail_step, status, the state and the
    generator are then exactly those of the check at every step. A replica known to be
    near the edge steps one at a time (fully checked, with the margin) until it is clear
    of the edge again.
    """
    cdef Py_ssize_t s = first_snapshot(snapshot_steps, n_snapshots, start)
    cdef Py_ssize_t n_values = dl_model_n_values(m)
    cdef int64_t t, t0, end, next_snapshot, longest = dl_model_segment(m)
    cdef int code, seg
    cdef bint near, sure
    next_snapshot = snapshot_steps[s] if s < n_snapshots else stop + 1
    code = dl_model_check_margin(m)
    near = code == DL_UNSURE
    if near:
        code = DL_OK
    t = start
    while code == DL_OK:
        if t == next_snapshot:
            code = dl_record(m, eigenvalues + s * n_values)
            if code != DL_OK:
                break
            s += 1
            next_snapshot = snapshot_steps[s] if s < n_snapshots else stop + 1
        if t == stop:
            break
        end = min(t + longest, stop, next_snapshot)
        if near or end == t + 1 or generator_state(generators, r, saved, False) != 0:
            # One step, checked in full (and with the margin, to know when to segment again).
            t += 1
            code = dl_model_step_unchecked(m, t, normals)
            if code == DL_UNSURE:
                code = dl_model_check_margin(m)
            near = code == DL_UNSURE
            if near:
                code = DL_OK
            continue
        dl_model_save(m)
        t0 = t
        sure = True
        seg = DL_OK
        while t < end:
            t += 1
            seg = dl_model_step_unchecked(m, t, normals)
            if seg == DL_UNSURE:
                sure = False
                seg = DL_OK
            elif seg != DL_OK:
                break
        if seg == DL_OK and not sure:
            seg = dl_model_check_margin(m)
        if seg == DL_OK:
            continue
        # A failure, or alive near the edge: replay the segment with the check at every step.
        dl_model_restore(m)
        if generator_state(generators, r, saved, True) != 0:
            code = DL_LAPACK_FAILED  # (unreachable: numpy takes back the state it gave)
            break
        t = t0
        near = False
        while t < end:
            t += 1
            code = dl_model_step_unchecked(m, t, normals)
            if code == DL_UNSURE:
                code = dl_model_check_margin(m)
            near = code == DL_UNSURE
            if near:
                code = DL_OK
            if code != DL_OK:
                break
    status[0] = code
    return -1 if code == DL_OK else t


cdef void dl_run_block(dl_model* m, bitgen_t** gens, int method, Py_ssize_t n_rep,
                       int64_t start, int64_t stop, const int64_t* snapshot_steps,
                       Py_ssize_t n_snapshots, double* eigenvalues, uint8_t* failed,
                       int64_t* fail_step, uint8_t* status, PyObject* generators,
                       PyObject* saved) noexcept nogil:
    """dl_run_replica for each replica r of the block not yet failed, with generator
    gens[r]; a failure sets failed[r] = 1, fail_step[r] and (status not NULL) status[r].
    When the model segments (dl_model_segment(m) > 1) and the generators' Python objects
    are given (generators, a sequence, and saved, a list of one), dl_run_segments instead."""
    cdef Py_ssize_t r, n_values = dl_model_n_values(m)
    cdef bint segments = dl_model_segment(m) > 1 and generators != NULL
    cdef int64_t failed_at
    cdef int code
    cdef dl_normal_source normals
    normals.buffer = NULL
    normals.position = 0
    normals.method = method
    for r in range(n_rep):
        if failed[r]:
            continue
        normals.bitgen = gens[r]
        dl_model_bind(m, r)
        if segments:
            failed_at = dl_run_segments(
                m, &normals, generators, r, saved, start, stop, snapshot_steps, n_snapshots,
                eigenvalues + r * n_snapshots * n_values if n_snapshots > 0 else NULL, &code)
        else:
            failed_at = dl_run_replica(
                m, &normals, start, stop, snapshot_steps, n_snapshots,
                eigenvalues + r * n_snapshots * n_values if n_snapshots > 0 else NULL, &code)
        if failed_at >= 0:
            failed[r] = 1
            fail_step[r] = failed_at
            if status != NULL:
                status[r] = code


cdef int drive_block(dl_model* m, optim_t* opt, object bit_generators, Py_ssize_t n_rep,
                     int64_t start, int64_t stop, const int64_t[::1] snapshot_steps,
                     double[:, :, ::1] eigenvalues, uint8_t[::1] failed,
                     int64_t[::1] fail_step, str normal_method,
                     uint8_t[::1] status) except -1:
    """The block driver behind every model's *_advance: check the bookkeeping arrays, get
    the generators' bitgen_t, tabulate the optimiser's schedule for the call (opt, the one
    m steps with), run dl_run_block without the GIL. The model has allocated its one
    workspace for the block and set up m."""
    cdef Py_ssize_t n_snap = snapshot_steps.shape[0]
    cdef int method = check_block(eigenvalues, failed, fail_step, n_rep, n_snap,
                                  dl_model_n_values(m), start, stop, normal_method)
    if status is not None and status.shape[0] != n_rep:
        raise ValueError(f"status must have length {n_rep}")
    cdef bitgen_t** gens = bitgen_array(bit_generators, n_rep)
    cdef uint8_t* status_ptr = &status[0] if status is not None and n_rep > 0 else NULL
    saved = [None]  # a generator's state at the start of a segment (dl_run_segments)
    cdef double* schedule = NULL
    try:
        if n_rep > 0:
            schedule = optim_schedule(opt, start, stop)
            with nogil:
                dl_run_block(m, gens, method, n_rep, start, stop,
                             &snapshot_steps[0] if n_snap > 0 else NULL, n_snap,
                             &eigenvalues[0, 0, 0] if n_snap > 0 else NULL,
                             &failed[0], &fail_step[0], status_ptr,
                             <PyObject*> bit_generators, <PyObject*> saved)
    finally:
        free(gens)
        free(schedule)
    return 0
