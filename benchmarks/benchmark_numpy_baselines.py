"""The replica-batched NumPy baselines alone: they measure the machine, not the package.

Each suite here times the NumPy implementation (``numpy_baseline``) of a step beside which a
kernel suite is read, with the same parameters and work as that suite's kernels: no commit
of dysonlearn changes these figures, so between two commits they show what the machine
(its load, its NumPy and BLAS) did, and how much of a kernel's change is noise. The kernel's
figure of merit against the baseline is the kernel suite's ratio (``track_time_vs_numpy``,
``track_speedup``), timed in one call with the baseline interleaved.

==============================  ==============================================================
suite                           the kernel suite it serves
==============================  ==============================================================
PCDStepNumpy                    benchmark_rbm.PCDStep
NormalsFloorNumpy               benchmark_rbm.NormalsFloor (NumPy's normals)
PeakMemoryNumpy                 benchmark_rbm.PeakMemory
TeacherStudentStepNumpy         benchmark_teacher_student.TeacherStudentStep
DysonStepNumpy                  benchmark_teacher_student.DysonStep
DeepLinearStepNumpy             benchmark_deep_linear.DeepLinear
RBMLargeNNumpy, ...LargeNNumpy  benchmark_large_n.RBMLargeN, TeacherStudentLargeN, DysonLargeN
BLASThroughput                  the DGEMM throughput behind benchmark_large_n's flop floors
==============================  ==============================================================
"""

from . import benchmark_deep_linear as _deep_linear
from . import benchmark_large_n as _large_n
from . import benchmark_rbm as _rbm
from . import benchmark_teacher_student as _teacher_student
from .common import sig


class PCDStepNumpy(_rbm._PCDHarness):
    """R replicas x steps(R) PCD steps of the NumPy baseline, PCG64 (``default_rng``) and
    SFC64."""

    params = ((1, 256), ("numpy",), ("SFC64", "PCG64"))


class NormalsFloorNumpy(_rbm.NormalsFloor):
    """NumPy's Generator.standard_normal: the normals of one replica-step of the baseline."""

    params = (("numpy",), ("SFC64", "PCG64"))


class PeakMemoryNumpy(_rbm.PeakMemory):
    """Peak RSS of the baseline training 7500 replicas (its one-step noise buffers)."""

    params = (("numpy",),)


class TeacherStudentStepNumpy(_teacher_student._TeacherStudentHarness,
                              _teacher_student._Steps):  # fmt: skip
    """R replicas x steps(N) teacher-student steps of the NumPy baseline."""

    params = ((2, 10), ("numpy",))


class DysonStepNumpy(_teacher_student._DysonHarness, _teacher_student._Steps):
    """R replicas x steps(N) Dyson steps of the NumPy baseline (batched eigvalsh)."""

    params = ((2, 10), ("numpy",))


class DeepLinearStepNumpy(_deep_linear._DeepLinearHarness):
    """R = 256 replicas x 200 deep linear steps of the NumPy baseline."""

    params = (tuple(_deep_linear.WIDTHS), ("numpy",))


class RBMLargeNNumpy(_large_n._LargeN):
    """The RBM baseline against N (``benchmark_large_n``'s work per call)."""

    model = "rbm"
    params = (_large_n.SIZES, ("numpy",))
    param_names = ("n", "implementation")


class TeacherStudentLargeNNumpy(_large_n._LargeN):
    """The teacher-student baseline against N."""

    model = "teacher_student"
    params = (_large_n.SIZES, ("numpy",))
    param_names = ("n", "implementation")


class DysonLargeNNumpy(_large_n._LargeN):
    """The Dyson baseline (batched eigvalsh) against N."""

    model = "dyson"
    params = (_large_n.SIZES, ("numpy",))
    param_names = ("n", "implementation")


class BLASThroughput:
    """The single-core DGEMM throughput behind the flop floors (``dgemm_gflops``)."""

    timeout = 300

    def track_dgemm_gflops(self):
        return sig(_large_n.dgemm_gflops())

    track_dgemm_gflops.unit = "Gflop/s"
