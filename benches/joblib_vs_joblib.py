#!/usr/bin/env python3
"""npmap's joblib reader and writer side by side with joblib, on one dump.

    python3 benches/joblib_vs_joblib.py --rows 4000000 --cols 100 --repeat 5 --dir /tmp

Dumps (once) a ROWS x COLS float32 array as {'X': array} with joblib.dump, reads it
twice to warm the page cache, then times each operation in a fresh subprocess per
repeat, joblib right before npmap:

- open: joblib.load(path, mmap_mode='r')['X'] vs npmap::joblib::load + view;
- read: joblib.load(path) vs npmap::joblib::read (both copy the array into memory);
  `limit` is a memcpy of as many bytes between two buffers already in memory, the
  machine's limit for a copying read;
- write: joblib.dump({'X': x}) followed by os.fsync of the file vs JoblibWriter (which
  syncs before renaming into place), x read into memory before the clock starts on
  both sides. Both write the whole dump to disk.

Reports the median of the repeats and joblib time / npmap time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def joblib_child(op, path, extra):
    import joblib
    import numpy as np

    if op == "write":
        x = np.load(extra)  # in memory before the clock starts, as on npmap's side
    start = time.perf_counter()
    if op == "open":
        x = joblib.load(path, mmap_mode="r")["X"]
        check = float(x.shape[0])
    elif op == "read":
        x = joblib.load(path)["X"]
        check = float(x[-1, -1])
    elif op == "write":
        joblib.dump({"X": x}, path)
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        check = float(os.path.getsize(path))
    else:
        raise SystemExit(f"unknown op {op}")
    print(json.dumps({"seconds": [time.perf_counter() - start], "check": check}))


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--child", nargs=3)
    a = p.parse_args()
    if a.child:
        return joblib_child(*a.child)

    import joblib
    import numpy as np

    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "joblib_ops"], check=True, cwd=ROOT
    )
    exe = os.path.join(ROOT, "target", "release", "examples", "joblib_ops")
    dump = os.path.join(a.dir, f"npmap_bench_{a.rows}x{a.cols}.joblib")
    npy = os.path.join(a.dir, f"npmap_bench_{a.rows}x{a.cols}.npy")
    out_joblib = os.path.join(a.dir, "npmap_bench_out_joblib.joblib")
    out_npmap = os.path.join(a.dir, "npmap_bench_out_npmap.joblib")
    if not os.path.exists(dump):
        x = np.lib.format.open_memmap(npy, mode="w+", dtype="<f4", shape=(a.rows, a.cols))
        for i in range(0, a.rows, 1_000_000):
            x[i : i + 1_000_000] = np.random.default_rng(i).standard_normal(
                (min(1_000_000, a.rows - i), a.cols), dtype=np.float32
            )
        x.flush()
        joblib.dump({"X": x}, dump)
    for path in (dump, npy, dump):
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
    size = os.path.getsize(dump)
    me = [sys.executable, os.path.abspath(__file__)]
    rows = []
    for op, extra in (("open", "-"), ("read", "-"), ("write", npy)):
        jl, nm, lim = [], [], []
        for _ in range(a.repeat):
            target = dump if op != "write" else out_joblib
            j = run(me + ["--child", op, target, extra])
            target = dump if op != "write" else out_npmap
            n = run([exe, op, target] + (["--from", npy] if op == "write" else []))
            assert abs(j["check"] - n["check"]) <= 1e-6 * max(1.0, abs(j["check"])) or op == "write", (j, n)
            jl += j["seconds"]
            nm += n["seconds"]
            if op == "read":
                lim += run([exe, "memcpy", dump])["seconds"]
        row = (op, statistics.median(jl), statistics.median(nm), lim and statistics.median(lim))
        rows.append(row)
    for f in (out_joblib, out_npmap):
        if os.path.exists(f):
            os.remove(f)
    print(f"{a.rows} x {a.cols} float32 dump = {size / 1e9:.2f} GB, hot page cache, median of {a.repeat}")
    print(f"{'operation':<8} {'joblib s':>10} {'npmap s':>10} {'ratio':>8} {'limit s':>9} {'npmap GB/s':>11}")
    for op, j, n, lim in rows:
        lim_s = f"{lim:9.4f}" if lim else f"{'':>9}"
        print(f"{op:<8} {j:10.4f} {n:10.4f} {j / n:7.1f}x {lim_s} {size / n / 1e9:11.2f}")


if __name__ == "__main__":
    main()
