#!/usr/bin/env python3
"""Saving a float32 array: npmap's writers against np.save, same run, same conditions.

    python3 benches/save_vs_numpy.py [--rows 4000000] [--cols 100] [--repeat 7] [--dir /tmp]

Every timed save runs in a fresh child process that builds the array (the same values,
in memory backed the same way: NumPy asks for transparent huge pages on large arrays,
and so does `examples/save_ops.rs`, and without freeing a temporary of the array's
size), syncs so no earlier write-back is pending, touches and frees 2 GB (so that both
writers fill the page cache from memory the VM's host has already backed: see
`warm_memory` in `examples/save_ops.rs`), then times one save. NumPy's child times `np.save`; npmap's times `write_npy_to` into a
`BufWriter<File>`, `save_npy_with(sync: false)` (temporary file + rename) and
`save_npy` (temporary file + fsync + rename). Two cases, each writer in turn, the
order rotating from round to round:

- new file: the target does not exist (deleted before the child starts);
- overwrite: the target holds the previous round's 1.6 GB. `np.save` and `write_npy_to`
  truncate it and refill the page cache with the pages they just freed; an atomic save
  must keep the old file whole until its rename, so it takes fresh pages.

Prints medians, the spread, and the ratio NumPy time / npmap time (above 1: npmap is
faster); then the median time of `create_npy` for a sparse 100 GB file.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NUMPY_CHILD = """
import json, os, sys, time
import numpy as np
rows, cols, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
WARM_BYTES = 2_000_000_000
# Filled in slices, so no temporary the size of the array is freed just before the
# save (freed memory is what the page cache then takes first: it would favour NumPy).
x = np.empty((rows, cols), dtype=np.float32)
flat = x.reshape(-1)
for start in range(0, rows * cols, 1 << 20):
    k = np.arange(start, min(start + (1 << 20), rows * cols), dtype=np.int64)
    flat[start:start + len(k)] = (k % 1000) * 0.5
os.sync()
warm = np.ones(WARM_BYTES, dtype=np.uint8)  # see warm_memory in examples/save_ops.rs
del warm
t = time.perf_counter()
np.save(path, x)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

WRITERS = [
    ("np.save", "np.save (no fsync)"),
    ("write", "npmap::write_npy_to to a File (no fsync)"),
    ("save-unsynced", "npmap::save_npy_with(sync: false)"),
    ("save", "npmap::save_npy (temp + fsync + rename)"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--dir", default=tempfile.gettempdir())
    a = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "save_ops"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "save_ops")
    work = tempfile.mkdtemp(dir=a.dir, prefix="npmap-save-")
    numpy_path = os.path.join(work, "numpy_save.npy")

    def once(op):
        if op == "np.save":
            cmd = [sys.executable, "-c", NUMPY_CHILD, str(a.rows), str(a.cols), numpy_path]
        else:
            cmd = [exe, op, work, str(a.rows), str(a.cols)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out)["seconds"]

    cases = ("new file", "overwrite")
    try:
        times = {(case, op): [] for case in cases for op, _ in WRITERS}
        for round in range(a.repeat):
            k = round % len(WRITERS)
            for case in cases:
                for op, _ in WRITERS[k:] + WRITERS[:k]:
                    target = numpy_path if op == "np.save" else os.path.join(work, f"npmap_{op}.npy")
                    if case == "new file" and os.path.exists(target):
                        os.remove(target)
                    times[(case, op)].append(once(op))
        with open(numpy_path, "rb") as f:
            theirs = f.read()
        same = all(
            open(os.path.join(work, f"npmap_{op}.npy"), "rb").read() == theirs for op, _ in WRITERS[1:]
        )
        del theirs
        create = json.loads(subprocess.run([exe, "create", work, "100", str(a.repeat)], check=True, capture_output=True, text=True).stdout)
    finally:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)
    gb = a.rows * a.cols * 4 / 1e9
    print(f"saving a {a.rows} x {a.cols} float32 array ({gb:.2f} GB), each save in a fresh process, "
          f"median of {a.repeat}; every file byte-identical to np.save's: {same}")
    for case in cases:
        numpy_s = statistics.median(times[(case, "np.save")])
        print(f"\n{case + ':':<42} {'median s':>9} {'min-max s':>13} {'GB/s':>6} {'NumPy/npmap':>12}")
        for op, label in WRITERS:
            t = times[(case, op)]
            m = statistics.median(t)
            ratio = "" if op == "np.save" else f"{numpy_s / m:.2f}x"
            print(f"  {label:<40} {m:>9.3f} {min(t):>6.2f}-{max(t):<6.2f} {gb / m:>6.2f} {ratio:>12}")
    print(f"create_npy of a sparse {create['bytes'] / 1e9:.0f} GB file: median {create['create_npy'] * 1e6:.0f} µs")


if __name__ == "__main__":
    sys.exit(main())
