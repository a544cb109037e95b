"""What crash safety costs: committing a finished block to the journal (write, fsync,
rename, directory fsync) and rebuilding results.h5 from the journal.

Sizes are the article's RBM ensemble per setting: 7500 replicas, 6 snapshots, N = 10, in
blocks of 256 replicas (about a minute of training each at 3 us a replica-step and 1e5
steps). A commit costs milliseconds against that minute; a rebuild happens after each scan
point and at most once a minute during one.
"""

import tempfile
from pathlib import Path

import numpy as np

import dysonlearn as dl
from dysonlearn import store
from dysonlearn.ensemble import BlockOutput

from .common import Sampled, best_seconds, sig

REPLICAS = 7500
BLOCK = 256
CONFIG = dl.RBMConfig(steps=100_000, snapshots=5)


def _block(start: int, stop: int) -> BlockOutput:
    n = stop - start
    rng = np.random.default_rng(start)
    return BlockOutput(start, stop, rng.random((n, 6, 10)), np.zeros(n, bool),
                       np.full(n, -1, np.int64), None)  # fmt: skip


def _spec() -> store.PointSpec:
    return store.PointSpec("point_000", CONFIG, REPLICAS, 1, "SFC64", "ziggurat")


class CommitBlock(Sampled):
    """One block of 256 replicas committed to the journal, atomically and durably."""

    def setup(self):
        self._dir = tempfile.TemporaryDirectory()
        self.run_store = store.RunStore(Path(self._dir.name) / "results.h5", [_spec()], 1)
        self.run_store.__enter__()
        self.block = _block(0, BLOCK)
        self.run_store._last_rebuild = float("inf")  # time the commit alone, no rebuild

    def teardown(self):
        self.run_store.journal.unlock()
        self._dir.cleanup()

    def time_commit_block(self):
        self.run_store.write_block("point_000", self.block)


class RebuildView(Sampled):
    """results.h5 rebuilt from a journal holding a whole point (30 blocks, 3.6 MB)."""

    def setup(self):
        self._dir = tempfile.TemporaryDirectory()
        self.run_store = store.RunStore(Path(self._dir.name) / "results.h5", [_spec()], 1)
        self.run_store.__enter__()
        self.run_store._last_rebuild = float("inf")
        for start in range(0, REPLICAS, BLOCK):
            self.run_store.write_block("point_000", _block(start, min(start + BLOCK, REPLICAS)))
        self.blocks = self.run_store.journal.blocks()

    def teardown(self):
        self.run_store.journal.unlock()
        self._dir.cleanup()

    def time_rebuild_view(self):
        # Rebuild without dropping the journal's blocks, so every repeat does the same work.
        manifest = self.run_store._manifest
        old = store._readable_old_view(self.run_store.path, manifest)
        try:
            store.journal_module.atomic_write(
                self.run_store.path,
                lambda tmp: store._write_view(tmp, manifest, old, self.run_store.journal),
                "view",
            )
        finally:
            if old is not None:
                old.close()

    def track_rebuild_ms(self):
        """Milliseconds of a rebuild, best of three."""
        return sig(best_seconds(self.time_rebuild_view, 3) * 1e3)

    track_rebuild_ms.unit = "ms"


# HDF5 filters tried on the eigenvalues (the store uses gzip with shuffle: store._COMPRESSION).
FILTERS = {
    "none": {},
    "gzip+shuffle": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "gzip": {"compression": "gzip", "compression_opts": 4},
    "lzf+shuffle": {"compression": "lzf", "shuffle": True},
    "lzf": {"compression": "lzf"},
}


class CompressEigenvalues(Sampled):
    """Eigenvalues of a stationary teacher-student ensemble (N = 2, 20000 replicas, six
    snapshots: 1.9 MB) written and read under each HDF5 filter, in chunks of 64 replicas
    as the store writes them: the saving (``track_percent_of_raw``) against the time."""

    params = list(FILTERS)
    param_names = ["filter"]
    timeout = 300

    def setup_cache(self):
        config = dl.TeacherStudentConfig(teacher=[2.0, 2.0], noise=0.1, lr=0.1, batch_size=16,
                                         steps=5000, snapshots=5)  # fmt: skip
        return dl.run_ensemble(config, replicas=20000, seed=1, backend="serial",
                               progress=False).eigenvalues  # fmt: skip

    def _write(self, eigenvalues, name):
        import io

        import h5py

        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as handle:
            handle.create_dataset("eigenvalues", data=eigenvalues,
                                  chunks=(64, *eigenvalues.shape[1:]), **FILTERS[name])  # fmt: skip
        return buffer

    def setup(self, eigenvalues, name):
        self.written = self._write(eigenvalues, name)

    def time_write(self, eigenvalues, name):
        self._write(eigenvalues, name)

    def time_read(self, eigenvalues, name):
        import h5py

        with h5py.File(self.written, "r") as handle:
            handle["eigenvalues"][...]

    def track_percent_of_raw(self, eigenvalues, name):
        import h5py

        with h5py.File(self.written, "r") as handle:
            return sig(100 * handle["eigenvalues"].id.get_storage_size() / eigenvalues.nbytes)

    track_percent_of_raw.unit = "%"
