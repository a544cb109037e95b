"""The compiled core of dysonlearn: arithmetic kernels only (no I/O, no configuration).

Modules:
    rbm      Gaussian RBM trained by persistent contrastive divergence (:doc:`/theory/rbm`).
    teacher  teacher-student model with hand-added noise, :doc:`/theory/teacher_student`.
    dyson    eigenvalue-level Dyson Brownian motion :eq:`dyson-bm`.
    spectra  batched spectra of weight matrices (SpectrumTracker).
    random   the kernels' standard normals, for tests and for users.

Each module ships its ``.pxd`` so that other Cython code can ``cimport`` the kernels, and
two declaration-only modules are shared by all of them: ``status.pxd`` (``dl_status``, the
one status enum) and ``optim.pxd`` (the optimiser seam: ``optim_t``, ``optim_apply``).
"""
