#!/usr/bin/env python3
"""Saving a float32 array: npmap's save_npy / write_npy against np.save, same run.

    python3 benches/save_vs_numpy.py [--rows 4000000] [--cols 100] [--repeat 5] [--dir /tmp]

Prints medians and ratios (NumPy time / npmap time: above 1 means npmap is faster),
and the median time of create_npy for a sparse 100 GB file.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dir", default=tempfile.gettempdir())
    a = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "save_ops"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "save_ops")
    work = tempfile.mkdtemp(dir=a.dir, prefix="npmap-save-")
    def npmap_once(op):
        out = subprocess.run([exe, op, work, str(a.rows), str(a.cols)], check=True, capture_output=True, text=True).stdout
        return json.loads(out)["seconds"]
    try:
        x = ((np.arange(a.rows * a.cols, dtype=np.int64) % 1000) * 0.5).astype(np.float32).reshape(a.rows, a.cols)
        path = os.path.join(work, "numpy_save.npy")
        times = {"np.save": [], "write": [], "save": []}
        # Interleaved rounds, each write starting with no dirty pages in the page cache,
        # so that no contender pays for another's writeback.
        for _ in range(a.repeat):
            os.sync()
            t = time.perf_counter()
            np.save(path, x)
            times["np.save"].append(time.perf_counter() - t)
            for op in ("write", "save"):
                times[op].append(npmap_once(op))
        same = open(path, "rb").read() == open(os.path.join(work, "npmap_save.npy"), "rb").read()
        create = json.loads(subprocess.run([exe, "create", work, "100", str(a.repeat)], check=True, capture_output=True, text=True).stdout)
    finally:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)
    numpy_s = statistics.median(times["np.save"])
    r = {"write_npy": statistics.median(times["write"]), "save_npy": statistics.median(times["save"]), "bytes": a.rows * a.cols * 4}
    gb = r["bytes"] / 1e9
    print(f"saving a {a.rows} x {a.cols} float32 array ({gb:.2f} GB), median of {a.repeat}; files byte-identical: {same}")
    print(f"{'writer':<44} {'median s':>9} {'GB/s':>7} {'NumPy/npmap':>12}")
    print(f"{'np.save (no fsync)':<44} {numpy_s:>9.3f} {gb / numpy_s:>7.2f} {'':>12}")
    print(f"{'npmap::write_npy to a file (no fsync)':<44} {r['write_npy']:>9.3f} {gb / r['write_npy']:>7.2f} {numpy_s / r['write_npy']:>11.2f}x")
    print(f"{'npmap::save_npy (temp + fsync + rename)':<44} {r['save_npy']:>9.3f} {gb / r['save_npy']:>7.2f} {numpy_s / r['save_npy']:>11.2f}x")
    print(f"create_npy of a sparse {create['bytes'] / 1e9:.0f} GB file: median {create['create_npy'] * 1e6:.0f} µs")


if __name__ == "__main__":
    sys.exit(main())
