#!/usr/bin/env python3
"""npmap's .npy -> Zarr conversion and its statistics over Zarr, side by side with
zarr-python and Dask, against the disk's write speed, in one run.

    python3 benches/zarr_vs_zarr_python.py --rows 4000000 --cols 100 --repeat 3 --dir /tmp

Writes (once) a ROWS x COLS float32 .npy (1.6 GB at the defaults: standard normal
values rounded to 0.01, so zstd has something to do) and reads it twice to warm the
page cache. Then, per repeat, each in a fresh process:

- dd: `dd if=X.npy of=... bs=64M conv=fdatasync`, the disk's sequential write of as
  many bytes from the page cache: the limit for an uncompressed conversion;
- convert, for uncompressed and zstd Zarr v3 stores with chunks of CHUNK_ROWS x COLS:
  `npmap convert X.npy X.zarr --chunks ... --compression none|zstd` (the CLI; it syncs
  every chunk before writing the metadata and renaming the store into place) against
  zarr-python (`zarr.create_array(..., compressors=None | ZstdCodec(level=0))`,
  `z[:] = np.load(X.npy, mmap_mode='r')`, then every file of the store fsynced, so
  both sides put the store on disk);
- stats: `npmap stats X.zarr --axis 0` against `npmap stats X.npy --axis 0` (and the
  whole-array form), and Dask's `da.from_zarr(store).mean(0)` + `.std(0)` on the same
  store (threaded scheduler, all cores) as the peer.

Checks on the way: zarr-python reads npmap's stores equal to the array; npmap's
`convert X.zarr back.npy` is byte-identical to X.npy; npmap's column means over the
store equal its means over the .npy within 1e-8 of the columns' standard deviation
(float32 data: see the comment at the check).

Reports medians (seconds), throughput of the array's bytes and ratios. Needs about 3x
the array's size on disk at once (the .npy, one store, dd's copy); about a minute per
repeat at the defaults on this machine.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fsync_tree(path):
    for dirpath, _, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def child(op, npy, store, chunk_rows, codec):
    """One timed operation of the peers, in its own process; prints JSON."""
    import numpy as np

    if op == "zarr_python_write":
        import zarr
        from zarr.codecs import ZstdCodec

        x = np.load(npy, mmap_mode="r")
        start = time.perf_counter()
        z = zarr.create_array(
            store=store,
            shape=x.shape,
            chunks=(int(chunk_rows), x.shape[1]),
            dtype=x.dtype,
            compressors=None if codec == "none" else ZstdCodec(level=0),
            zarr_format=3,
            overwrite=True,
        )
        z[:] = x
        fsync_tree(store)
        print(json.dumps({"seconds": time.perf_counter() - start}))
    elif op == "dask_stats":
        import dask
        import dask.array as da

        start = time.perf_counter()
        x = da.from_zarr(store)
        with dask.config.set(scheduler="threads"):
            mean, std = da.compute(x.mean(0), x.std(0))
        print(json.dumps({"seconds": time.perf_counter() - start, "mean": mean.tolist()}))
    elif op == "zarr_python_check":
        import zarr

        x = np.load(npy, mmap_mode="r")
        z = zarr.open_array(store, mode="r")
        step = max(1, x.shape[0] // 97)
        same = all(np.array_equal(z[i : i + 7], x[i : i + 7]) for i in range(0, x.shape[0], step))
        same = same and np.array_equal(z[-3:], x[-3:])
        print(json.dumps({"same": bool(same), "chunks": list(z.chunks)}))
    else:
        raise SystemExit(f"unknown op {op}")


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def peer(op, npy, store, chunk_rows, codec):
    out = subprocess.run(
        [sys.executable, __file__, "--child", op, npy, store, str(chunk_rows), codec],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=4_000_000)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--chunk-rows", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--child", nargs=5)
    a = p.parse_args()
    if a.child:
        return child(*a.child)

    import numpy as np

    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "npmap-cli"], check=True, cwd=ROOT
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "npmap")
    npy = os.path.join(a.dir, f"npmap_zbench_{a.rows}x{a.cols}.npy")
    store = os.path.join(a.dir, "npmap_zbench.zarr")
    back = os.path.join(a.dir, "npmap_zbench_back.npy")
    dd_out = os.path.join(a.dir, "npmap_zbench_dd.bin")
    if not os.path.exists(npy):
        rng = np.random.default_rng(1)
        x = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=(a.rows, a.cols))
        for i in range(0, a.rows, 500_000):
            n = min(500_000, a.rows - i)
            x[i : i + n] = np.round(rng.standard_normal((n, a.cols)), 2)
        x.flush()
        del x
    nbytes = os.path.getsize(npy)
    for _ in range(2):
        with open(npy, "rb") as f:
            while f.read(64 << 20):
                pass
    chunks = f"{a.chunk_rows},{a.cols}"
    times = {}

    def add(name, seconds):
        times.setdefault(name, []).append(seconds)

    checked = False
    for r in range(a.repeat):
        t, _ = timed(["dd", f"if={npy}", f"of={dd_out}", "bs=64M", "conv=fdatasync", "status=none"])
        add("dd write", t)
        os.remove(dd_out)
        for codec in ["none", "zstd"]:
            shutil.rmtree(store, ignore_errors=True)
            t, _ = timed([exe, "convert", npy, store, "--chunks", chunks, "--compression", codec])
            add(f"npmap convert ({codec})", t)
            size = sum(
                os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs
            )
            times.setdefault(f"store bytes ({codec})", [size])
            if not checked or codec == "zstd" and r == 0:
                c = peer("zarr_python_check", npy, store, a.chunk_rows, codec)
                assert c["same"], f"zarr-python reads npmap's {codec} store differently"
                if os.path.exists(back):
                    os.remove(back)
                subprocess.run([exe, "convert", store, back], check=True, capture_output=True)
                assert subprocess.run(["cmp", "-s", npy, back]).returncode == 0, "round trip differs"
                os.remove(back)
            t, out_z = timed([exe, "stats", store, "--axis", "0", "--json"])
            add(f"npmap stats --axis 0 over the store ({codec})", t)
            t, _ = timed([exe, "stats", store, "--json"])
            add(f"npmap stats over the store ({codec})", t)
            d = peer("dask_stats", npy, store, a.chunk_rows, codec)
            add(f"dask mean(0)+std(0) over the store ({codec})", d["seconds"])
            if not checked:
                t, out_n = timed([exe, "stats", npy, "--axis", "0", "--json"])
                # float32 data: npmap's f32 kernels sum in f32 over groups of 8 values that
                # start where a chunk starts, so the store's and the file's means agree to
                # about 1e-9 of the values' spread (not of the means, which are near 0).
                cz, cn = json.loads(out_z)["stats"], json.loads(out_n)["stats"]
                worst = max(abs(z["mean"] - n["mean"]) / n["std"] for z, n in zip(cz, cn))
                assert worst <= 1e-8, f"column means differ by {worst} std"
                worst_dask = max(abs(z["mean"] - m) / z["std"] for z, m in zip(cz, d["mean"]))
                print(f"# column means: store vs .npy {worst:.1e} std, npmap vs dask {worst_dask:.1e} std")
                checked = True
            shutil.rmtree(store, ignore_errors=True)
            d = peer("zarr_python_write", npy, store, a.chunk_rows, codec)
            add(f"zarr-python write ({codec})", d["seconds"])
            shutil.rmtree(store, ignore_errors=True)
        t, _ = timed([exe, "stats", npy, "--axis", "0", "--json"])
        add("npmap stats --axis 0 over the .npy", t)
        t, _ = timed([exe, "stats", npy, "--json"])
        add("npmap stats over the .npy", t)

    med = {k: statistics.median(v) for k, v in times.items()}
    gb = nbytes / 1e9
    print(f"{a.rows} x {a.cols} float32 = {gb:.2f} GB, chunks {chunks}, {a.repeat} repeats, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
    for k, v in med.items():
        if k.startswith("store bytes"):
            print(f"{k:55s} {int(v):>14,d}")
        else:
            print(f"{k:55s} {v:8.3f} s  {gb / v:6.2f} GB/s")
    for codec in ["none", "zstd"]:
        n = med[f"npmap convert ({codec})"]
        print(f"convert ({codec}): zarr-python / npmap {med[f'zarr-python write ({codec})'] / n:.2f}x, "
              f"npmap / dd-limit {med['dd write'] / n:.2f} of the disk's write speed")
        s = med[f"npmap stats --axis 0 over the store ({codec})"]
        print(f"stats --axis 0 ({codec}): store / .npy time {s / med['npmap stats --axis 0 over the .npy']:.2f}, "
              f"dask / npmap {med[f'dask mean(0)+std(0) over the store ({codec})'] / s:.2f}x")


if __name__ == "__main__":
    main()
