#!/usr/bin/python3
"""Relatedness benchmark: the yearly co-export counts C = M^T M, the ubiquity k
and phi = C / max(k_i, k_j) from the same records.h5, by kspill relatedness
(1 rank x 1 and 2 OpenMP threads, 2 ranks x 1 thread) and by scipy, in one
command, with a check of the result beside each time.

usage: relatedness_bench.py KSPILL JOB.ini WORKDIR

scipy does the same work as kspill: read the year's flows (h5py), keep the
exports, build the sparse firm x product incidence M, C = (M^T M).toarray(),
k = diag(C), phi, and write the three matrices to HDF5 with kspill's dataset
settings (chunks of 65,536 elements, shuffle, deflate 1).  The "compute"
columns are the counting and phi only (kspill: count, MPI sum and phi); the
wall time is the whole stage (kspill: the mpirun command, start-up included).
The check: counts equal, max |phi_kspill - phi_scipy| per year (exactly 0 is
expected: both divide the same integers once).
"""
import os
import re
import resource
import subprocess
import sys
import time

import h5py
import numpy as np
import scipy.sparse as sp

CHUNK = 1 << 16


def scipy_relatedness(records, out):
    """Returns per-step seconds, firms per year and peak memory (MB)."""
    t = {"read": 0.0, "count": 0.0, "phi": 0.0, "write": 0.0}
    firms = {}
    t_start = time.perf_counter()
    with h5py.File(records, "r") as rec, h5py.File(out, "w") as o:
        hs4 = rec["products/hs4"][:]
        P = len(hs4)
        first, last = int(rec.attrs["first_year"]), int(rec.attrs["last_year"])
        years = [y for y in range(first, last + 1) if len(rec[f"flows/{y}/firm"]) > 0]
        for y in years:
            t0 = time.perf_counter()
            g = rec[f"flows/{y}"]
            flow = g["flow"][:]
            exp = flow == 1
            firm = g["firm"][:][exp]
            prod = np.searchsorted(hs4, g["hs4"][:][exp])
            t1 = time.perf_counter()
            units, row = np.unique(firm, return_inverse=True)
            M = sp.csr_matrix((np.ones(len(prod), dtype=np.int64), (row, prod)), shape=(len(units), P))
            C = (M.T @ M).toarray()
            k = C.diagonal().copy()
            t2 = time.perf_counter()
            m = np.maximum.outer(k, k)
            phi = np.divide(C, m, out=np.zeros(C.shape), where=m > 0)
            t3 = time.perf_counter()
            rows = max(1, min(P, CHUNK // P))
            for name, data, chunks in (("phi", phi, (rows, P)), ("cooccurrence", C, (rows, P)),
                                       ("ubiquity", k, (min(P, CHUNK),))):
                o.create_dataset(f"{name}/{y}", data=data, chunks=chunks, shuffle=True,
                                 compression="gzip", compression_opts=1)
            t4 = time.perf_counter()
            t["read"] += t1 - t0
            t["count"] += t2 - t1
            t["phi"] += t3 - t2
            t["write"] += t4 - t3
            firms[y] = len(units)
    t["wall"] = time.perf_counter() - t_start
    return t, firms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


FINAL = re.compile(r"in ([\d.]+) s \(read ([\d.]+), count ([\d.]+), sum\+phi ([\d.]+), "
                   r"write ([\d.]+)\); peak memory ([\d.]+) MB")


def kspill_relatedness(kspill, job, ranks, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = ["mpirun", "-x", "OMP_NUM_THREADS", "-n", str(ranks), kspill, "relatedness", job]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log = p.stdout + p.stderr
    m = FINAL.search(log)
    if not m:
        print(log)
        sys.exit("CHECK FAILED: kspill relatedness printed no final line")
    stage, read, count, sumphi, write, peak = map(float, m.groups())
    return {"wall": wall, "stage": stage, "read": read, "count": count, "phi": sumphi,
            "write": write, "peak": peak}


def compare(kspill_file, scipy_file):
    worst, counts_equal = 0.0, True
    with h5py.File(kspill_file, "r") as a, h5py.File(scipy_file, "r") as b:
        for y in b["phi"]:
            d = float(np.abs(a[f"phi/{y}"][:] - b[f"phi/{y}"][:]).max())
            worst = max(worst, d)
            counts_equal &= bool(np.array_equal(a[f"cooccurrence/{y}"][:], b[f"cooccurrence/{y}"][:]))
            counts_equal &= bool(np.array_equal(a[f"ubiquity/{y}"][:], b[f"ubiquity/{y}"][:]))
            print(f"  {y}: max |phi_kspill - phi_scipy| = {d:.3g}")
    return worst, counts_equal


def main():
    kspill, job, work = sys.argv[1], sys.argv[2], sys.argv[3]
    records = os.path.join(work, "records.h5")
    print(f"records: {records} ({os.path.getsize(records) / 1e6:.1f} MB)")
    ts, firms, peak_scipy = scipy_relatedness(records, os.path.join(work, "scipy.h5"))
    n = sum(firms.values())
    print("firms exporting per year: " + ", ".join(f"{y}: {f}" for y, f in firms.items()))

    runs = []
    for ranks, threads in ((1, 1), (1, 2), (2, 1)):
        best = min((kspill_relatedness(kspill, job, ranks, threads) for _ in range(3)),
                   key=lambda r: r["wall"])
        print(f"kspill {ranks} rank(s) x {threads} thread(s): check against scipy")
        worst, equal = compare(os.path.join(work, "relatedness.h5"), os.path.join(work, "scipy.h5"))
        runs.append((ranks, threads, best, worst, equal))

    def line(name, cores, t, stage, compute, peak, check):
        print(f"| {name:<30} | {cores:>5} | {t['wall']:7.2f} | {stage:7.2f} | {t['read']:6.2f} | "
              f"{t['count']:6.3f} | {t['phi']:6.3f} | {t['write']:6.2f} | {compute:7.3f} | "
              f"{n / t['wall']:9.0f} | {peak:8.1f} | {check} |")

    print("\n| tool | cores | wall s | stage s | read | count | sum+phi | write | compute s | "
          "firms/s | peak MB/rank | check |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    line("scipy (M^T M)", 1, ts, ts["wall"], ts["count"] + ts["phi"], peak_scipy, "reference")
    for ranks, threads, r, worst, equal in runs:
        line(f"kspill, {ranks} rank x {threads} thread", ranks * threads, r, r["stage"],
             r["count"] + r["phi"], r["peak"],
             f"counts {'equal' if equal else 'DIFFER'}, max phi diff {worst:.1e}")
    print()
    for ranks, threads, r, _, _ in runs:
        print(f"kspill {ranks} rank(s) x {threads} thread(s) vs scipy: compute (count + phi) "
              f"{(ts['count'] + ts['phi']) / (r['count'] + r['phi']):.1f}x, whole stage "
              f"{ts['wall'] / r['stage']:.1f}x (wall with mpirun start-up {ts['wall'] / r['wall']:.1f}x)")
    if any(w > 1e-12 or not e for _, _, _, w, e in runs):
        print("CHECK FAILED: kspill and scipy disagree")
        sys.exit(1)


if __name__ == "__main__":
    main()
