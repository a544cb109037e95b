"""The compiled core of dysonlearn: arithmetic kernels only (no I/O, no configuration).

Modules:
    rbm  Gaussian RBM trained by persistent contrastive divergence, SPEC [B.1]-[B.6].

Each module ships its ``.pxd`` so that other Cython code can ``cimport`` the kernels.
"""
