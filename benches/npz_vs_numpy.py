#!/usr/bin/env python3
"""Times NumPy on the archives that `benches/npz.rs` creates, for comparison.

    NPMAP_BENCH_DIR=/tmp/npz-bench cargo bench --bench npz
    python3 benches/npz_vs_numpy.py /tmp/npz-bench

Prints the median of `np.load(path)[name]` for the deflated ~100 MB member
(packed.npz:a) and the stored 1 GiB member (stored.npz:big), and of
`np.load(path, mmap_mode='r')[name]` on the stored one (NumPy ignores mmap_mode for
.npz members and reads them whole).
"""

import statistics
import sys
import time

import numpy as np


def median_seconds(f, repeat):
    f()  # warm-up: page cache, imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/npz-bench"
    packed, stored = f"{d}/packed.npz", f"{d}/stored.npz"

    def load(path, name, **kw):
        def run():
            with np.load(path, **kw) as z:
                a = z[name]
                return a[-1]
        return run

    cases = [
        ("np.load(packed.npz)['a']  (deflated 100 MB)", load(packed, "a"), 10),
        ("np.load(stored.npz)['big'] (stored 1 GiB)", load(stored, "big"), 5),
        ("np.load(stored.npz, mmap_mode='r')['big']", load(stored, "big", mmap_mode="r"), 5),
    ]
    print(f"numpy {np.__version__}")
    for label, f, repeat in cases:
        print(f"{label:50s} median {median_seconds(f, repeat) * 1e3:10.2f} ms")


if __name__ == "__main__":
    main()
