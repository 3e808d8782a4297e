#!/usr/bin/env python3
"""Compressed .npz archives: npmap's reader and writer side by side with NumPy, in one run.

    python3 benches/npz_compressed.py --mb 100 --repeat 3 --dir /tmp

Makes two float32 arrays of MB megabytes (1e6 bytes) each, 100 columns wide:

- `a`: draws from N(0, 1) rounded to one decimal (about 80 distinct values; deflate
  level 6 keeps about 27 % of the bytes);
- `b`: a smooth signal, the sum of three sines along the rows plus N(0, 0.01) noise,
  rounded to three decimals (about 45 %).

Pure random floats barely compress (93 %) and are not what people compress.

Then, in one run, with the files in the page cache (`--dir`, no fsync on reads):

1. `np.savez_compressed(numpy.npz, a=a, b=b)` followed by `os.fsync`, and npmap's
   `NpzWriter::compressed` of the same two arrays (read into memory before the clock
   starts; `finish` syncs before renaming into place), each `--repeat` times;
2. `np.load(path)[name]` for each member and for both (`whole`), on the archive NumPy
   wrote and on the one npmap wrote, and npmap's `NpzReader::read` per member and
   `NpzReader::read_many` of both, on the same archives.

npmap runs as `examples/npz_ops.rs` (built here, all repeats in one process, the
archive opened anew each repeat). Prints medians, NumPy time / npmap time, and the
archives' sizes; checks that `np.load` reads npmap's archive back equal to the input
and that npmap's checksums of what it read match NumPy's. Deletes its files at the end.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_arrays(mb, rng):
    rows = int(mb * 1e6) // 400
    a = np.round(rng.standard_normal((rows, 100)), 1).astype(np.float32)
    t = np.arange(rows, dtype=np.float64)[:, None] / 997.0 + np.arange(100)[None, :] * 0.1
    smooth = np.sin(t) + 0.5 * np.sin(3.1 * t + 1.0) + 0.25 * np.sin(7.3 * t + 2.0)
    b = np.round(smooth + rng.normal(0.0, 0.01, smooth.shape), 3).astype(np.float32)
    return {"a": a, "b": b}


def checksum(x):
    # The same sample npz_ops sums: every 4099th value in memory order.
    return float(np.asarray(x, dtype=np.float64).ravel(order="K")[::4099].sum())


def timed(f, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t)
    return times, result


def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def npz_ops(exe, *args):
    out = subprocess.run([exe, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=float, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", default="/tmp")
    a = p.parse_args()

    env = dict(os.environ)
    target = env.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "npz_ops"],
                   check=True, cwd=ROOT, env=env)
    exe = os.path.join(target, "release", "examples", "npz_ops")

    rng = np.random.default_rng(19)
    arrays = make_arrays(a.mb, rng)
    names = list(arrays)
    work = os.path.join(a.dir, f"npmap_npz_compressed_{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    numpy_npz = os.path.join(work, "numpy.npz")
    npmap_npz = os.path.join(work, "npmap.npz")
    inputs = []
    for name, x in arrays.items():
        path = os.path.join(work, f"{name}.npy")
        np.save(path, x)
        inputs.append(path)
    sums = {name: checksum(x) for name, x in arrays.items()}
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []  # (label, numpy times, npmap times)
    try:
        def savez():
            np.savez_compressed(numpy_npz, **arrays)
            fsync(numpy_npz)
        print("np.savez_compressed ...", file=sys.stderr, flush=True)
        save_np, _ = timed(savez, a.repeat)
        print("NpzWriter::compressed ...", file=sys.stderr, flush=True)
        save_rs = npz_ops(exe, "write", npmap_npz, "--from", ",".join(inputs), "--repeat", a.repeat)
        rows.append(("write: savez_compressed | NpzWriter::compressed", save_np,
                     save_rs["seconds"]))
        with np.load(npmap_npz) as z:
            if z.files != names:
                raise SystemExit(f"np.load lists {z.files} in npmap's archive, expected {names}")
            for name in names:
                if not np.array_equal(z[name], arrays[name]):
                    raise SystemExit(f"np.load reads npmap's member {name} differently")
        del z

        for label, archive in (("NumPy's archive", numpy_npz), ("npmap's archive", npmap_npz)):
            for name in names:
                def load_one(name=name):
                    with np.load(archive) as z:
                        return checksum(z[name])
                print(f"{label}: {name} ...", file=sys.stderr, flush=True)
                load_one()  # warm-up: page cache
                t_np, s_np = timed(load_one, a.repeat)
                r = npz_ops(exe, "read", archive, name, "--repeat", a.repeat)
                if abs(r["check"] - s_np) > 1e-6 * max(1.0, abs(s_np)) or s_np != sums[name]:
                    raise SystemExit(f"{archive}:{name}: checksums differ: npmap {r['check']}, "
                                     f"NumPy {s_np}, input {sums[name]}")
                rows.append((f"read {label} '{name}': np.load | read", t_np, r["seconds"]))

            def load_all():
                with np.load(archive) as z:
                    return sum(checksum(z[n]) for n in names)
            t_np, s_np = timed(load_all, a.repeat)
            r = npz_ops(exe, "read_all", archive, "--repeat", a.repeat)
            if abs(r["check"] - s_np) > 1e-6 * max(1.0, abs(s_np)):
                raise SystemExit(f"{archive}: whole-archive checksums differ")
            rows.append((f"read {label} whole: np.load | read_many", t_np, r["seconds"]))

        sizes = {}
        for label, archive in (("NumPy", numpy_npz), ("npmap", npmap_npz)):
            with zipfile.ZipFile(archive) as z:
                sizes[label] = {i.filename: i.compress_size for i in z.infolist()}
            sizes[label]["file"] = os.path.getsize(archive)
    finally:
        for f in inputs + [numpy_npz, npmap_npz]:
            if os.path.exists(f):
                os.unlink(f)
        os.rmdir(work)

    total = sum(x.nbytes for x in arrays.values())
    print()
    print(f"two float32 members of {a.mb:g} MB ('a': N(0,1) rounded to 0.1; 'b': smooth "
          f"signal + noise rounded to 0.001), median of {a.repeat}")
    print(f"{datetime.datetime.now().isoformat(timespec='minutes')}, {os.cpu_count()} CPUs, "
          f"NumPy {np.__version__}, CPython {platform.python_version()} "
          f"zlib {zlib.ZLIB_RUNTIME_VERSION}; load average before {load_before}, after "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print()
    head = f"{'operation (NumPy | npmap)':58s} {'NumPy s':>9s} {'npmap s':>9s} {'ratio':>8s}"
    print(head)
    print("-" * len(head))
    for label, t_np, t_rs in rows:
        m_np, m_rs = statistics.median(t_np), statistics.median(t_rs)
        print(f"{label:58s} {m_np:9.3f} {m_rs:9.3f} {m_np / m_rs:7.2f}x")
    print()
    m_np = statistics.median(rows[0][1])
    print(f"write MB/s of array bytes: NumPy {total / 1e6 / m_np:.1f}, "
          f"npmap {total / 1e6 / statistics.median(rows[0][2]):.1f}")
    print("compressed sizes, bytes:")
    for key in ["a.npy", "b.npy", "file"]:
        n, r = sizes["NumPy"][key], sizes["npmap"][key]
        print(f"  {key:6s} NumPy {n:>13,d}  npmap {r:>13,d}  ({100 * (r - n) / n:+.2f} %)")
    print()
    print("runs, seconds (NumPy | npmap)")
    for label, t_np, t_rs in rows:
        print(f"  {label}: " + " ".join(f"{t:.3f}" for t in t_np) + " | "
              + " ".join(f"{t:.3f}" for t in t_rs))


if __name__ == "__main__":
    main()
