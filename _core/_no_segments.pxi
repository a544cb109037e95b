# The segment hooks of the shared driver (_driver.pxi) for a model whose check is as cheap as
# its step's own arithmetic (the teacher-student and Dyson kernels): no segments, every step
# checked. Include after the model's `ctypedef ... dl_model` and before _driver.pxi.


cdef inline int64_t dl_model_segment(dl_model* m) noexcept nogil:
    return 1


cdef inline void dl_model_save(dl_model* m) noexcept nogil:
    pass


cdef inline void dl_model_restore(dl_model* m) noexcept nogil:
    pass


cdef inline int dl_model_step_unchecked(dl_model* m, int64_t t,
                                        dl_normal_source* normals) noexcept nogil:
    return dl_model_step(m, t, normals)


cdef inline int dl_model_check_margin(dl_model* m) noexcept nogil:
    return dl_model_check(m)
