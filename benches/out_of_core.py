#!/usr/bin/env python3
"""Out of core, in one run: a float32 file larger than RAM, the disk's own speed, and
npmap's fill and scans beside NumPy's on the same file.

    sudo python3 benches/out_of_core.py [--gb N] [--dir /tmp] [--keep]

The file is 1.25 x the machine's RAM unless --gb says otherwise (N x 100 float32
columns). Needs that much free disk space twice over for a moment (the dd test file is
deleted before the data file is made), and root to drop the page cache before each
cold measurement (without root the numbers are not cold, and the script says so).
On this machine (24 GB RAM, 30 GB file) a run takes about 5 minutes, and about
1.5 minutes more per pair of the page-cache part (which also needs --other-gb of disk).

Measured, in this order:
- dd write (bs=64M, conv=fdatasync) and dd read of a file of the same size: the disk;
- npmap create + par_fill_uniform + flush, with write-behind (`bench_ops fill_uniform`);
- cold whole-array par_moments (`bench_ops moments`, first scan), and `npmap stats FILE`;
- cold per-column par_moments_axis(Axis(0)) (`bench_ops moments_axis0`);
- NumPy: np.sum(x) and x.std(0) on np.load(FILE, mmap_mode='r') (a MemoryError is
  reported as such);
- what a cold scan leaves of another program's cached file: a copy of the data's first
  --other-gb GB (default 4) is read into the page cache, then the data file is scanned
  cold (`bench_ops moments --rescan 0`) plainly and with `NpyFile::drop_behind`, in
  --pairs alternating pairs (default 3; the order flips each pair), and `fincore` says
  how much of the other file is still cached. Medians, with the range.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXE = os.path.join(TARGET, "release", "examples", "bench_ops")
CLI = os.path.join(TARGET, "release", "npmap")


def drop_caches():
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    return True


def ram_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no MemTotal in /proc/meminfo")


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout


def bench_ops(*args, env=None):
    out = subprocess.run([EXE, *args], check=True, capture_output=True, text=True,
                         env=None if env is None else {**os.environ, **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def cached_bytes(path):
    """How many bytes of `path` are in the page cache (`fincore`), or None."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                             check=True, capture_output=True, text=True)
        return int(out.stdout.split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


NUMPY = r"""
import sys, time, json, numpy as np
x = np.load(sys.argv[1], mmap_mode="r")
op = sys.argv[2]
start = time.perf_counter()
try:
    if op == "sum":
        v = float(np.sum(x))
    else:
        v = float(x.std(0)[0])
    print(json.dumps({"seconds": time.perf_counter() - start, "value": v}))
except MemoryError as e:
    print(json.dumps({"seconds": time.perf_counter() - start, "error": "MemoryError: " + str(e)}))
"""


def numpy_op(path, op):
    _, out = timed([sys.executable, "-c", NUMPY, path, op])
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gb", type=float, help="file size in GB (default: 1.25 x RAM)")
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--keep", action="store_true", help="keep the data file")
    p.add_argument("--other-gb", type=float, default=4.0,
                   help="size of the other program's cached file (0: skip that part)")
    p.add_argument("--pairs", type=int, default=3,
                   help="alternating plain / drop-behind cold scans")
    a = p.parse_args()
    size = int(a.gb * 1e9) if a.gb else int(1.25 * ram_bytes())
    cols = 100
    rows = size // (4 * cols)
    size = rows * cols * 4
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "bench_ops", "-p", "npmap"], check=True, cwd=ROOT)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "npmap-cli"], check=True, cwd=ROOT)
    data = os.path.join(a.dir, "npmap_ooc.npy")
    dd_file = os.path.join(a.dir, "npmap_ooc_dd.bin")
    cold = drop_caches()
    results = []
    count = size // (64 << 20)
    t, _ = timed(["dd", "if=/dev/zero", f"of={dd_file}", "bs=64M", f"count={count}", "conv=fdatasync"])
    dd_bytes = count * (64 << 20)
    results.append(("dd write (fdatasync)", t, dd_bytes / t))
    drop_caches()
    t, _ = timed(["dd", f"if={dd_file}", "of=/dev/null", "bs=64M"])
    results.append(("dd read", t, dd_bytes / t))
    os.remove(dd_file)
    drop_caches()
    r = bench_ops("fill_uniform", data, "--rows", str(rows), "--cols", str(cols), "--repeat", "1", "--flush", "1", "--write-behind", "1")
    results.append(("npmap fill (create + par_fill_uniform + flush, write-behind)", r["seconds"], size / r["seconds"]))
    drop_caches()
    r = bench_ops("moments", data, "--repeat", "1")
    results.append(("npmap par_moments, cold", r["seconds"], size / r["seconds"]))
    lib_sum = r["sum"]
    drop_caches()
    t, out = timed([CLI, "stats", data, "--json"])
    cli_sum = json.loads(out)["stats"]["sum"]
    results.append(("npmap stats FILE (CLI), cold", t, size / t))
    drop_caches()
    r = bench_ops("moments_axis0", data, "--repeat", "1")
    results.append(("npmap par_moments_axis(Axis(0)), cold", r["seconds"], size / r["seconds"]))
    drop_caches()
    r = numpy_op(data, "sum")
    results.append(("NumPy np.sum(x), cold", r["seconds"], size / r["seconds"]))
    drop_caches()
    r = numpy_op(data, "std0")
    std0 = r.get("error") or "ok"
    results.append((f"NumPy x.std(0), cold ({std0[:60]})", r["seconds"], size / r["seconds"]))
    behind = {"normal": [], "drop_behind": []}
    kept = {"normal": [], "drop_behind": []}
    other = os.path.join(a.dir, "npmap_ooc_other.bin")
    other_count = int(a.other_gb * 1e9) // (64 << 20)
    if other_count > 0 and a.pairs > 0:
        subprocess.run(["dd", f"if={data}", f"of={other}", "bs=64M", f"count={other_count}",
                        "conv=fdatasync", "status=none"], check=True)
        other_bytes = os.path.getsize(other)
        for pair in range(a.pairs):
            order = ["normal", "drop_behind"][:: 1 if pair % 2 == 0 else -1]
            for advice in order:
                drop_caches()
                subprocess.run(["dd", f"if={other}", "of=/dev/null", "bs=64M", "status=none"], check=True)
                r = bench_ops("moments", data, "--repeat", "1", "--rescan", "0",
                              env={"BENCH_ADVICE": advice})
                behind[advice].append(r["seconds"])
                kept[advice].append(cached_bytes(other))
        os.remove(other)
    if not a.keep:
        os.remove(data)
    write, read = results[0][2], results[1][2]
    print(f"{rows} x {cols} float32 = {size / 1e9:.1f} GB, RAM {ram_bytes() / 1e9:.1f} GB, "
          f"{'cold (page cache dropped before each)' if cold else 'NOT cold (not root)'}, one run, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'operation':<72} {'seconds':>8} {'GB/s':>6} {'% of dd':>8}")
    for name, t, rate in results:
        ref = write if "fill" in name or "write" in name else read
        print(f"{name:<72} {t:8.2f} {rate / 1e9:6.2f} {100 * rate / ref:7.0f}%")
    print(f"library and CLI sums equal: {lib_sum == cli_sum} ({lib_sum!r})")
    if behind["normal"]:
        print()
        print(f"cold scan with {other_bytes / 1e9:.1f} GB of another file cached first, "
              f"{a.pairs} alternating pairs")
        print(f"{'scan (bench_ops moments --rescan 0)':<40} {'median s':>9} {'range s':>13} "
              f"{'GB/s':>6} {'other file still cached (GB)':>30}")
        for advice, label in (("normal", "plain (BENCH_ADVICE=normal)"),
                              ("drop_behind", "NpyFile::drop_behind")):
            times = sorted(behind[advice])
            median = times[len(times) // 2]
            left = [k for k in kept[advice] if k is not None]
            left_text = ", ".join(f"{k / 1e9:.2f}" for k in left) if left else "n/a (no fincore)"
            print(f"{label:<40} {median:9.2f} {times[0]:6.2f}-{times[-1]:<6.2f} "
                  f"{size / median / 1e9:6.2f} {left_text:>30}")
        ratio = sorted(behind["drop_behind"])[len(behind["drop_behind"]) // 2] / \
            sorted(behind["normal"])[len(behind["normal"]) // 2]
        print(f"drop-behind time / plain time (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
