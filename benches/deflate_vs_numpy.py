#!/usr/bin/env python3
"""flate2's miniz_oxide and zlib-rs backends side by side with CPython's zlib.

    python3 benches/deflate_vs_numpy.py [--dir DIR] [--mb 100] [--repeat 3] [--inflate-repeat 9]

Makes one 100 MB array per data kind with NumPy and writes each as a .npy file (the
exact bytes `np.savez_compressed` puts in the archive member). Builds the bench crate
`benches/deflate/` once per flate2 backend, each in its own target directory:

  miniz_oxide  --features miniz                      (what npmap uses today)
  zlib-rs      --features zlib-rs                    (flate2 default features off)
  zlib-rs+rtd  --features zlib-rs,runtime-detection  (adds flate2's `runtime_detection`,
                                                      which zlib-rs needs for AVX2)

then, kind by kind, runs each binary on the file (raw deflate at level 6, inflate,
round trip checked) and times CPython's zlib on the same bytes
(`zlib.compressobj(6, zlib.DEFLATED, -15)`, `zlib.decompress(data, -15)`), checks that
CPython inflates every backend's output back to the input, and for context times
`np.savez_compressed` + `np.load(path)[name]` of the same array. Prints one table of
MB/s (1 MB = 1e6 bytes of uncompressed data) at the median of `--repeat` deflate and
`--inflate-repeat` inflate runs. The files it wrote are deleted at the end.
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

BENCHES = Path(__file__).resolve().parent
CRATE = BENCHES / "deflate"
BIN = "npmap-deflate-bench"
LEVEL = 6

# (label, cargo features); the label is also what the binary calls itself.
VARIANTS = [
    ("miniz_oxide", "miniz"),
    ("zlib-rs", "zlib-rs"),
    ("zlib-rs+rtd", "zlib-rs,runtime-detection"),
]
ZLIB = "CPython zlib"
COLUMNS = [label for label, _ in VARIANTS] + [ZLIB]


def make_array(kind, n_bytes, rng):
    """A float32/int32 array of exactly `n_bytes` data bytes, 100 columns wide."""
    n = n_bytes // 4
    shape = (n // 100, 100) if n % 100 == 0 else (n,)
    if kind == "f32-round1":
        # Features rounded to one decimal (about 80 distinct values).
        return np.round(rng.standard_normal(shape), 1).astype(np.float32)
    if kind == "i32-poisson":
        # Small counts, mean 3.
        return rng.poisson(3.0, shape).astype(np.int32)
    if kind == "f32-normal":
        # Full-precision random normal: poorly compressible mantissas.
        return rng.standard_normal(shape, dtype=np.float32)
    raise ValueError(f"unknown kind {kind}")


KINDS = ["f32-round1", "i32-poisson", "f32-normal"]


def locked_versions():
    """Versions of the interesting packages in the bench crate's Cargo.lock."""
    versions, name = {}, None
    for line in (CRATE / "Cargo.lock").read_text().splitlines():
        if line.startswith("name = "):
            name = line.split('"')[1]
        elif line.startswith("version = ") and name in ("flate2", "miniz_oxide", "zlib-rs"):
            versions[name] = line.split('"')[1]
    return versions


def build(target_root):
    binaries = {}
    for label, features in VARIANTS:
        target_dir = target_root / label.replace("+", "-")
        cmd = ["cargo", "build", "--release", "--locked", "--quiet",
               "--manifest-path", str(CRATE / "Cargo.toml"),
               "--features", features, "--target-dir", str(target_dir)]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        binaries[label] = target_dir / "release" / BIN
    return binaries


def run_binary(label, binary, path, repeat, inflate_repeat, out_dir):
    cmd = [str(binary), "--tsv", "--repeat", str(repeat), "--inflate-repeat", str(inflate_repeat),
           "--level", str(LEVEL),
           "--out", str(out_dir), str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    fields = out.strip().split("\t")
    backend, _, n, compressed, _, _, deflate_runs, inflate_runs = fields
    if backend != label:
        raise SystemExit(f"{binary} says it is {backend}, expected {label}")
    runs = lambda s: [float(t) for t in s.split(",")]
    return {
        "bytes": int(n),
        "compressed": int(compressed),
        "deflate": runs(deflate_runs),
        "inflate": runs(inflate_runs),
        "output": out_dir / f"{path.name}.{label}.deflate",
    }


def run_zlib(data, repeat, inflate_repeat):
    deflate_times, inflate_times = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        compressed = c.compress(data) + c.flush()
        deflate_times.append(time.perf_counter() - t)
    for _ in range(inflate_repeat):
        t = time.perf_counter()
        inflated = zlib.decompress(compressed, -15)
        inflate_times.append(time.perf_counter() - t)
        if inflated != data:
            raise SystemExit("CPython zlib: inflated bytes differ from the input")
        del inflated
    # zlib.decompress builds its result in a fresh buffer (and 3.11+ joins the blocks it
    # grew into one bytes object); the Rust binaries inflate into a buffer they reuse.
    # One copy of the input into fresh memory is a lower bound of that extra cost.
    copy_times = []
    for _ in range(inflate_repeat):
        t = time.perf_counter()
        copy = bytearray(data)
        copy_times.append(time.perf_counter() - t)
        del copy
    return {"bytes": len(data), "compressed": len(compressed),
            "deflate": deflate_times, "inflate": inflate_times, "copy": copy_times}


def run_numpy(array, path, repeat, inflate_repeat):
    save_times, load_times = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        np.savez_compressed(path, a=array)
        save_times.append(time.perf_counter() - t)
    for _ in range(inflate_repeat):
        t = time.perf_counter()
        with np.load(path) as z:
            loaded = z["a"]
        load_times.append(time.perf_counter() - t)
        if not np.array_equal(loaded, array):
            raise SystemExit("np.load returned a different array")
        del loaded
    with zipfile.ZipFile(path) as z:
        member = z.getinfo("a.npy").compress_size
    path.unlink()
    return {"save": save_times, "load": load_times, "compressed": member}


def mbps(n, times):
    return n / 1e6 / statistics.median(times)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ["sse4_2", "pclmulqdq", "avx2", "bmi2", "avx512f", "avx512bw",
                          "avx512vl", "vpclmulqdq"]
                return " ".join(f for f in wanted if f in flags)
    except OSError:
        pass
    return "?"


def print_table(results, savez, n_bytes, repeats, versions, load_before):
    print()
    print(f"raw deflate level {LEVEL} / inflate of a {n_bytes / 1e6:.0f} MB .npy member, "
          f"MB/s of uncompressed bytes, median of {repeats[0]} deflate / {repeats[1]} inflate runs")
    print(f"{datetime.datetime.now().isoformat(timespec='minutes')}, {cpu_model()}, "
          f"{os.cpu_count()} CPUs, flags: {cpu_flags()}")
    print("locked: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
          + f"; NumPy {np.__version__}, CPython {platform.python_version()} "
          f"with zlib {zlib.ZLIB_RUNTIME_VERSION}")
    print(f"load average before {load_before}, after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    head = f"{'kind':12s} {'op':8s}" + "".join(f"{c:>14s}" for c in COLUMNS)
    ratios = [("rs/mz", "zlib-rs", "miniz_oxide"), ("rtd/mz", "zlib-rs+rtd", "miniz_oxide"),
              ("rtd/zlib", "zlib-rs+rtd", ZLIB), ("mz/zlib", "miniz_oxide", ZLIB)]
    head += "".join(f"{r[0]:>10s}" for r in ratios)
    print(head)
    print("-" * len(head))
    for kind, per in results.items():
        for op in ("deflate", "inflate"):
            speeds = {c: mbps(per[c]["bytes"], per[c][op]) for c in COLUMNS}
            line = f"{kind if op == 'deflate' else '':12s} {op:8s}"
            line += "".join(f"{speeds[c]:14.1f}" for c in COLUMNS)
            line += "".join(f"{speeds[a] / speeds[b]:9.2f}x" for _, a, b in ratios)
            print(line)
    copy = " | ".join(f"{kind} {statistics.median(per[ZLIB]['copy']) * 1e3:.0f} ms"
                      for kind, per in results.items())
    print(f"(CPython's inflate time includes building its result in fresh memory; "
          f"bytearray(data), one copy into fresh pages, takes: {copy})")
    print()
    print("compressed size, bytes (% of input)")
    print(f"{'kind':12s}" + "".join(f"{c:>22s}" for c in COLUMNS))
    for kind, per in results.items():
        cells = []
        for c in COLUMNS:
            r = per[c]
            cells.append(f"{r['compressed']:>13,d} ({100 * r['compressed'] / r['bytes']:5.2f}%)")
        print(f"{kind:12s}" + "".join(f"{cell:>22s}" for cell in cells))
    print()
    print("NumPy end to end: np.savez_compressed(path, a=array) to --dir, "
          "np.load(path)['a'] (MB/s of the array's bytes)")
    print(f"{'kind':12s} {'savez MB/s':>12s} {'load MB/s':>12s} {'member bytes':>14s}")
    for kind, s in savez.items():
        print(f"{kind:12s} {mbps(n_bytes, s['save']):12.1f} {mbps(n_bytes, s['load']):12.1f} "
              f"{s['compressed']:14,d}")
    print()
    print("runs, seconds")
    for kind, per in results.items():
        for c in COLUMNS:
            print(f"  {kind:12s} {c:13s} deflate "
                  + " ".join(f"{t:.3f}" for t in per[c]["deflate"])
                  + " | inflate " + " ".join(f"{t:.3f}" for t in per[c]["inflate"]))
        s = savez[kind]
        print(f"  {kind:12s} {'np.savez/load':13s} save    "
              + " ".join(f"{t:.3f}" for t in s["save"])
              + " | load " + " ".join(f"{t:.3f}" for t in s["load"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", help="where to write the inputs (default: a new temp dir)")
    p.add_argument("--mb", type=float, default=100, help="data bytes per input, in MB (1e6)")
    p.add_argument("--repeat", type=int, default=3, help="deflate runs per cell")
    p.add_argument("--inflate-repeat", type=int, default=9, help="inflate runs per cell")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {KINDS}")
    p.add_argument("--target-root", help="parent of the per-backend target dirs "
                   "(default: $CARGO_TARGET_DIR/deflate-bench, else benches/deflate/target)")
    args = p.parse_args()
    kinds = args.kinds.split(",")
    for kind in kinds:
        if kind not in KINDS:
            p.error(f"unknown kind {kind}")

    if args.target_root:
        target_root = Path(args.target_root)
    elif os.environ.get("CARGO_TARGET_DIR"):
        target_root = Path(os.environ["CARGO_TARGET_DIR"]) / "deflate-bench"
    else:
        target_root = CRATE / "target"
    binaries = build(target_root)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

    own_dir = args.dir is None
    work = Path(tempfile.mkdtemp(prefix="npmap-deflate-")) if own_dir else Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    created = []
    n_bytes = int(args.mb * 1e6) // 400 * 400
    rng = np.random.default_rng(2024)
    results, savez = {}, {}
    try:
        for kind in kinds:
            array = make_array(kind, n_bytes, rng)
            path = work / f"{kind}.npy"
            created.append(path)
            np.save(path, array)
            data = path.read_bytes()
            per = {}
            for label, binary in binaries.items():
                print(f"{kind}: {label}", file=sys.stderr, flush=True)
                r = run_binary(label, binary, path, args.repeat, args.inflate_repeat, work)
                created.append(r["output"])
                # CPython's zlib must inflate what the backend wrote.
                if zlib.decompress(r["output"].read_bytes(), -15) != data:
                    raise SystemExit(f"{label}: CPython zlib inflates its output to other bytes")
                r["output"].unlink()
                per[label] = r
            print(f"{kind}: {ZLIB}", file=sys.stderr, flush=True)
            per[ZLIB] = run_zlib(data, args.repeat, args.inflate_repeat)
            del data
            print(f"{kind}: np.savez_compressed / np.load", file=sys.stderr, flush=True)
            npz = work / f"{kind}.npz"
            created.append(npz)
            savez[kind] = run_numpy(array, npz, args.repeat, args.inflate_repeat)
            path.unlink()
            results[kind] = per
    finally:
        for f in created:
            f.unlink(missing_ok=True)
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)

    print_table(results, savez, n_bytes, (args.repeat, args.inflate_repeat), locked_versions(),
                load_before)


if __name__ == "__main__":
    main()
