#!/usr/bin/python3
"""Panel benchmark: kspill panel against scipy on the same records.h5 and
relatedness.h5, in one command, with a check of the result.

usage: panel_bench.py KSPILL JOB WORKDIR RANKS

scipy does the density part of kspill panel, the part that costs: per year,
the firm-years' import baskets as a sparse CSR matrix M (firm-years x
products) and the cities' baskets B, the densities D = (M @ phi.T) / rowsum
and (B @ phi.T) / rowsum, the cells with density_firm > threshold and their
density_city.  (kspill writes 14 columns more: its time includes them and
the compressed HDF5 output.)  The check: both give the same cells, and the
max abs difference of density_firm and density_city (~1e-14: scipy sums in another order).
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

TIE = 1e-12


def run_kspill(kspill, job, workdir, ranks, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    out = subprocess.run(["mpirun", "-n", str(ranks), kspill, "panel", job], env=env,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit("kspill panel failed:\n" + out.stdout + out.stderr)
    m = re.search(r"peak memory (\d+) MB per rank", out.stdout + out.stderr)
    split = re.search(r"rank 0 spent ([0-9.]+) s reading, ([0-9.]+) s on scope tables, ([0-9.]+) s "
                      r"on densities and rows, ([0-9.]+) s writing", out.stdout + out.stderr)
    with h5py.File(workdir + "/panel.h5") as f:
        rows = len(f["panel/firm"])
    compute = float(split.group(2)) + float(split.group(3)) if split else float("nan")
    return wall, rows, int(m.group(1)) if m else -1, compute


def scipy_panel(workdir, threshold):
    """The densities of every year with scipy; returns per-year (firm, product,
    density_firm, density_city) of the cells over the threshold, and the time."""
    out = {}
    t_total = 0.0
    with h5py.File(workdir + "/records.h5") as r, h5py.File(workdir + "/relatedness.h5") as rel:
        hs4 = r["products/hs4"][:]
        city_code = r["cities/code"][:]
        fy = {k: r["firm_years"][k][:] for k in ("firm", "year", "city", "rows_kept")}
        for y in range(int(r.attrs["first_year"]), int(r.attrs["last_year"]) + 1):
            g = r["flows/%d" % y]
            firm, prod_code, flow = g["firm"][:], g["hs4"][:], g["flow"][:]
            phi = rel["phi/%d" % y][:]
            sel = (fy["year"] == y) & (fy["rows_kept"] > 0)
            firms = fy["firm"][sel].astype(np.int64)
            cities = np.searchsorted(city_code, fy["city"][sel])
            t0 = time.perf_counter()
            imp = flow == 0
            rows = np.searchsorted(firms, firm[imp])
            cols = np.searchsorted(hs4, prod_code[imp])
            P = len(hs4)
            M = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(firms), P))
            rowsum = phi.sum(1)
            inv = np.where(rowsum > 0, 1.0 / np.where(rowsum > 0, rowsum, 1), 0.0)
            D = np.asarray(M @ phi.T) * inv            # firm densities [firm-years][P]
            CB = sp.csr_matrix((np.ones(len(rows)), (cities[rows], cols)), shape=(len(city_code), P))
            CB.data[:] = 1.0                           # duplicates summed: back to 0/1
            CB.sum_duplicates()
            CB.data[:] = 1.0
            DC = np.asarray(CB @ phi.T) * inv          # city densities [cities][P]
            k, i = np.nonzero(D > threshold + TIE)
            out[y] = (firms[k], hs4[i], D[k, i], DC[cities[k], i])
            t_total += time.perf_counter() - t0
    return out, t_total


def check(workdir, ref):
    worst = 0.0
    with h5py.File(workdir + "/panel.h5") as f:
        p = f["panel"]
        year = p["year"][:]
        for y, (firm, prod, df, dc) in ref.items():
            s = year == y
            if not (np.array_equal(p["firm"][s], firm) and np.array_equal(p["product"][s], prod)):
                return float("inf")
            worst = max(worst, np.abs(p["density_firm"][s] - df).max(initial=0),
                        np.abs(p["density_city"][s] - dc).max(initial=0))
    return worst


def main():
    kspill, job, workdir, ranks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with h5py.File(workdir + "/records.h5") as r:
        firm_years = int((r["firm_years/rows_kept"][:] > 0).sum())
        years = "%d-%d" % (r.attrs["first_year"], r.attrs["last_year"])
    print("data: %s, %d firm-years, %d products" % (years, firm_years, 1221))
    results = []
    for n, t in ((ranks, 1), (1, ranks)):
        wall, rows, peak, compute = run_kspill(kspill, job, workdir, n, t)
        results.append(("kspill panel, %d rank(s) x %d thread(s)" % (n, t), wall, rows, peak, compute))
    ref, t_scipy = scipy_panel(workdir, 0.05)
    rows_scipy = sum(len(v[0]) for v in ref.values())
    peak_py = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    diff = check(workdir, ref)
    print("\n| tool | wall s | rows | rows/s | peak MB per rank | densities s | vs scipy (wall) | vs scipy (densities) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("| scipy densities only (sparse x dense, 1 process) | %.2f | %d | %.0f | %d | %.2f | 1 | 1 |"
          % (t_scipy, rows_scipy, rows_scipy / t_scipy, peak_py, t_scipy))
    for name, wall, rows, peak, compute in results:
        print("| %s | %.2f | %d | %.0f | %d | %.2f | %.1fx | %.1fx |" % (name, wall, rows, rows / wall,
              peak, compute, t_scipy / wall, t_scipy / compute))
    print("\n'densities s' for kspill: scope tables + densities and rows on rank 0 (no reading or "
          "writing), the work scipy's time covers; 'wall' includes mpirun start-up, reading "
          "records.h5 and relatedness.h5 and writing 14+ compressed columns.")
    print("\ncheck: same cells; max abs diff of density_firm, density_city vs scipy: %.3g" % diff)
    if not diff < 1e-12:
        sys.exit("CHECK FAILED")


if __name__ == "__main__":
    main()
