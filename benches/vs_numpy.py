#!/usr/bin/env python3
"""npmap side by side with NumPy on one memory-mapped float32 .npy file.

    python3 benches/vs_numpy.py [--rows 4000000 --cols 100 --repeat 5 --dir /tmp]

Makes (if absent) a rows x cols float32 .npy of 1000 + N(0, 1) values with NumPy, warms
the page cache, then times each operation with NumPy (np.load(mmap_mode='r')) and with
npmap (examples/bench_ops.rs, built here with `cargo build --release`), each in a fresh
subprocess, one operation right after the other. Reports the median of the repeats,
GB/s, the ratio NumPy time / npmap time, npmap as a percentage of a bandwidth probe
(a parallel sum over an in-RAM buffer), the extra memory each used, and the relative
error of the per-column and whole-array mean/std against a float64 two-pass reference.

Memory: the parent samples the child's /proc/PID/status every few milliseconds;
"anon+" is the peak anonymous RSS (heap, temporaries) above the child's own baseline,
"hwm+" is VmHWM above the baseline VmRSS, which also counts the pages of the mapped
file the operation touched (page cache, shared, not allocated by the process).
Fill timings cover creating the file, mapping it and writing every value, not the
write-back to disk (neither side flushes).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def status_bytes(field, pid="self"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------------
# Child: one NumPy operation, timed, printing JSON.
# ---------------------------------------------------------------------------------


def child(args):
    import numpy as np

    baseline_rss = status_bytes("VmRSS")
    baseline_anon = status_bytes("RssAnon")
    path, repeat, op = args.path, args.repeat, args.child
    rows, cols = args.rows, args.cols
    times, rescans, out = [], [], {}
    for _ in range(repeat):
        if op == "open":
            t = time.perf_counter()
            m = np.load(path, mmap_mode="r")
            times.append(time.perf_counter() - t)
            out["bytes"] = m.nbytes
            del m
            continue
        if op in ("sum", "std", "mean_std0", "mean_std1"):
            # Open, then scan twice: the first scan (timed with the open) also maps
            # the page-cache pages into the process; the rescan reads mapped pages.
            for scan in range(2):
                t = time.perf_counter()
                if scan == 0:
                    m = np.load(path, mmap_mode="r")
                if op == "sum":
                    out["sum"] = float(np.sum(m))
                elif op == "std":
                    out["std"] = float(m.std())
                elif op == "mean_std1":
                    means, stds = m.mean(1), m.std(1)
                    out["sum_of_means"] = float(means.sum(dtype=np.float64))
                    out["sum_of_stds"] = float(stds.sum(dtype=np.float64))
                else:
                    means, stds = m.mean(0), m.std(0)
                    out["means"] = [float(x) for x in means]
                    out["stds"] = [float(x) for x in stds]
                (times if scan == 0 else rescans).append(time.perf_counter() - t)
            out["bytes"] = m.nbytes
            del m
            continue
        # Fills: create a new rows x cols float32 file ('w+') and write every value.
        t = time.perf_counter()
        f = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, cols))
        if op == "fill_columns":
            # The seed's loop: one column at a time from np.random.rand.
            for i in range(cols):
                f[:, i] = np.random.rand(rows)
        elif op == "fill_blocks":
            # NumPy at its best: float32 straight into contiguous row blocks.
            rng = np.random.default_rng(1)
            block = max(1, (1 << 20) // cols)
            for i in range(0, rows, block):
                rng.random(f[i : i + block].shape, dtype=np.float32, out=f[i : i + block])
        else:
            raise SystemExit(f"unknown child operation {op}")
        times.append(time.perf_counter() - t)
        out["bytes"] = f.nbytes
        del f
    out["seconds"] = statistics.median(times)
    out["times"] = times
    if rescans:
        out["rescan_seconds"] = statistics.median(rescans)
    out["baseline_rss"] = baseline_rss
    out["baseline_anon"] = baseline_anon
    out["hwm_extra"] = max(0, status_bytes("VmHWM") - baseline_rss)
    print(json.dumps(out))


# ---------------------------------------------------------------------------------
# Parent.
# ---------------------------------------------------------------------------------


def run_sampled(cmd):
    """Runs cmd, sampling its anonymous RSS; returns (parsed JSON, peak RssAnon)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, status_bytes("RssAnon", proc.pid))
        time.sleep(0.002)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr}")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["anon_extra"] = max(0, peak - out.get("baseline_anon", 0))
    return out


def numpy_op(args, op, path, repeat):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", op, "--path", path]
    cmd += ["--repeat", str(repeat), "--rows", str(args.rows), "--cols", str(args.cols)]
    return run_sampled(cmd)


def npmap_op(args, exe, op, path, repeat, *extra):
    cmd = [exe, op, path, "--repeat", str(repeat), "--rows", str(args.rows)]
    cmd += ["--cols", str(args.cols), *extra]
    return run_sampled(cmd)


def build():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(
        ["cargo", "build", "--release", "--example", "bench_ops"], cwd=ROOT, check=True
    )
    return os.path.join(target, "release", "examples", "bench_ops")


def make_data(path, rows, cols):
    import numpy as np

    if os.path.exists(path):
        m = np.load(path, mmap_mode="r")
        if m.shape == (rows, cols) and m.dtype == np.float32:
            return
        del m
    print(f"writing {path} ({rows} x {cols} float32) ...", flush=True)
    rng = np.random.default_rng(12345)
    m = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype=np.float32, shape=(rows, cols))
    step = max(1, (1 << 22) // cols)
    for i in range(0, rows, step):
        n = min(step, rows - i)
        m[i : i + n] = (1000.0 + rng.standard_normal((n, cols))).astype(np.float32)
    m.flush()
    del m
    os.replace(path + ".tmp", path)


def warm(path):
    buf = bytearray(1 << 24)
    for _ in range(2):
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def reference(path):
    """Per-column mean and std in float64, two passes over row chunks."""
    import numpy as np

    m = np.load(path, mmap_mode="r")
    rows, cols = m.shape
    step = 200_000
    total = np.zeros(cols)
    for i in range(0, rows, step):
        total += m[i : i + step].astype(np.float64).sum(0)
    means = total / rows
    sq = np.zeros(cols)
    for i in range(0, rows, step):
        d = m[i : i + step].astype(np.float64) - means
        sq += (d * d).sum(0)
    var = sq / rows
    whole_mean = means.mean()
    whole_std = float(np.sqrt((var + (means - whole_mean) ** 2).mean()))
    return means, np.sqrt(var), float(whole_mean), whole_std


def max_rel(values, ref):
    return max(abs(v - r) / abs(r) for v, r in zip(values, ref))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--fill-repeat", type=int, default=3, help="repeats of the fills")
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    exe = build()
    data = os.path.join(args.dir, f"npmap_vs_numpy_{args.rows}x{args.cols}.npy")
    fill = os.path.join(args.dir, "npmap_vs_numpy_fill.npy")
    make_data(data, args.rows, args.cols)
    warm(data)
    print("float64 reference ...", flush=True)
    ref_means, ref_stds, ref_mean, ref_std = reference(data)
    r, fr = args.repeat, args.fill_repeat

    print("timing ...", flush=True)
    res = {}
    res["probe"] = npmap_op(args, exe, "probe", data, r)
    res["np_open"] = numpy_op(args, "open", data, r)
    res["nm_open"] = npmap_op(args, exe, "open", data, r)
    res["np_sum"] = numpy_op(args, "sum", data, r)
    res["nm_moments"] = npmap_op(args, exe, "moments", data, r)
    res["np_std"] = numpy_op(args, "std", data, r)
    res["np_std0"] = numpy_op(args, "mean_std0", data, r)
    res["nm_axis0"] = npmap_op(args, exe, "moments_axis0", data, r)
    res["np_std1"] = numpy_op(args, "mean_std1", data, r)
    res["nm_axis1"] = npmap_op(args, exe, "moments_axis1", data, r)
    res["np_fill_cols"] = numpy_op(args, "fill_columns", fill, fr)
    res["nm_fill_cols"] = npmap_op(args, exe, "fill_columns", fill, fr)
    res["np_fill_blocks"] = numpy_op(args, "fill_blocks", fill, fr)
    res["nm_fill_uniform"] = npmap_op(args, exe, "fill_uniform", fill, fr)
    res["nm_fill_prealloc"] = npmap_op(args, exe, "fill_uniform", fill, fr, "--preallocate", "1")
    os.remove(fill)
    for k in ("np_sum", "nm_moments", "np_std", "np_std0", "nm_axis0", "np_std1", "nm_axis1"):
        res[k + "@rescan"] = dict(res[k], seconds=res[k]["rescan_seconds"])

    probe_s = res["probe"]["seconds"] * res["nm_moments"]["bytes"] / res["probe"]["bytes"]
    mb = lambda x: x / 1e6  # noqa: E731

    rows = [
        ("open (mmap)", "np_open", "nm_open", False),
        ("np.sum(m) | par_moments: first scan", "np_sum", "nm_moments", True),
        ("  rescan (pages already mapped)", "np_sum@rescan", "nm_moments@rescan", True),
        ("m.std() | par_moments: first scan", "np_std", "nm_moments", True),
        ("  rescan", "np_std@rescan", "nm_moments@rescan", True),
        ("m.mean(0),m.std(0) | axis(0): first scan", "np_std0", "nm_axis0", True),
        ("  rescan", "np_std0@rescan", "nm_axis0@rescan", True),
        ("m.mean(1),m.std(1) | axis(1): first scan", "np_std1", "nm_axis1", True),
        ("  rescan", "np_std1@rescan", "nm_axis1@rescan", True),
        ("fill: seed column loop | par_fill_columns", "np_fill_cols", "nm_fill_cols", False),
        ("fill: seed column loop | par_fill_uniform", "np_fill_cols", "nm_fill_uniform", False),
        ("  npmap with CreateOptions{preallocate}", "np_fill_cols", "nm_fill_prealloc", False),
        ("fill: NumPy row blocks | par_fill_uniform", "np_fill_blocks", "nm_fill_uniform", False),
    ]
    head = (
        f"{'operation (NumPy | npmap)':44} {'NumPy s':>9} {'npmap s':>9} {'NumPy GB/s':>10} "
        f"{'npmap GB/s':>10} {'ratio':>7} {'%probe':>7} {'NumPy anon+/hwm+ MB':>20} "
        f"{'npmap anon+/hwm+ MB':>20}"
    )
    print()
    print(
        f"{args.rows} x {args.cols} float32 = {res['nm_moments']['bytes'] / 1e9:.2f} GB, "
        f"hot page cache, {res['probe']['threads']} threads, median of {r} (fills: {fr})"
    )
    print(head)
    print("-" * len(head))
    for name, a, b, read in rows:
        na, nb = res[a], res[b]
        gb = nb["bytes"] / 1e9
        pct = f"{100 * probe_s / nb['seconds']:6.0f}%" if read else f"{'':>7}"
        print(
            f"{name:44} {na['seconds']:9.4f} {nb['seconds']:9.4f} {gb / na['seconds']:10.2f} "
            f"{gb / nb['seconds']:10.2f} {na['seconds'] / nb['seconds']:6.1f}x {pct} "
            f"{mb(na['anon_extra']):>9.0f} /{mb(na['hwm_extra']):>8.0f} "
            f"{mb(nb['anon_extra']):>9.0f} /{mb(nb['hwm_extra']):>8.0f}"
        )
    pr = res["probe"]
    print(
        f"{'bandwidth probe (2-thread sum, in RAM)':44} {'':>9} {pr['seconds']:9.4f} {'':>10} "
        f"{pr['bytes'] / 1e9 / pr['seconds']:10.2f}   ({pr['bytes'] / 1e9:.2f} GB buffer)"
    )

    print()
    print("max relative error vs float64 two-pass reference   NumPy        npmap")
    err = [
        ("per-column mean", max_rel(res["np_std0"]["means"], ref_means),
         max_rel(res["nm_axis0"]["means"], ref_means)),
        ("per-column std", max_rel(res["np_std0"]["stds"], ref_stds),
         max_rel(res["nm_axis0"]["stds"], ref_stds)),
        ("whole mean (np.sum(m)/n | par_moments)",
         abs(res["np_sum"]["sum"] / (args.rows * args.cols) - ref_mean) / abs(ref_mean),
         abs(res["nm_moments"]["mean"] - ref_mean) / abs(ref_mean)),
        ("whole std (m.std() | par_moments)", abs(res["np_std"]["std"] - ref_std) / ref_std,
         abs(res["nm_moments"]["std"] - ref_std) / ref_std),
    ]
    for name, e_np, e_nm in err:
        print(f"  {name:47} {e_np:10.2e}   {e_nm:10.2e}")
    agree = [abs(res["nm_axis1"][k] - res["np_std1"][k]) / abs(res["np_std1"][k])
             for k in ("sum_of_means", "sum_of_stds")]
    print(f"  per-row means, stds: sums agree with NumPy's to {agree[0]:.1e}, {agree[1]:.1e}")

    s = lambda k: res[k]["seconds"]  # noqa: E731
    col_err = max(e for _, _, e in err[:2])
    anon = max(res[k]["anon_extra"] for k in ("nm_moments", "nm_axis0"))
    fill_ratio = s("np_fill_cols") / min(s("nm_fill_cols"), s("nm_fill_uniform"))
    checks = [("fill >= 10x seed column fill (create_npy defaults)", f"{fill_ratio:.1f}x",
               fill_ratio >= 10),
              ("extra memory in reductions <= 64 MB", f"{anon / 1e6:.1f} MB", anon <= 64e6)]
    for scan, suffix in (("first scan", ""), ("rescan", "@rescan")):
        col = s("np_std0" + suffix) / s("nm_axis0" + suffix)
        whole = s("np_sum" + suffix) / s("nm_moments" + suffix)
        pct = probe_s / s("nm_moments" + suffix)
        checks += [
            (f"{scan}: per-column >= 15x NumPy, rel. error <= 1e-8",
             f"{col:.1f}x, {col_err:.1e}", col >= 15 and col_err <= 1e-8),
            (f"{scan}: whole-array >= 1.6x np.sum", f"{whole:.2f}x", whole >= 1.6),
            (f"{scan}: whole-array >= 70% of probe", f"{100 * pct:.1f}%", pct >= 0.7),
        ]
    print()
    for name, value, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {name}: {value}")


if __name__ == "__main__":
    main()
