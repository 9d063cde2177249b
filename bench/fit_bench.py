#!/usr/bin/python3
"""Fit benchmark: kspill fit against statsmodels Probit on the same panel.

usage: fit_bench.py KSPILL SRC WORK ROWS RANKS SM_ROWS

Simulates panel.h5 (tests/ref/fit_reference.py: year and industry effects,
the paper's model (4) regressors) of ROWS rows, then times
  - kspill fit, RANKS ranks x 1 thread: model (4), OIM SEs; the same with
    margins = ame_paper; and one Newton iteration (fit.max_iterations = 1);
    peak memory per rank from /usr/bin/time (max RSS);
  - a plain numpy pass (sum of each column) over the same columns: the floor;
  - statsmodels Probit (Newton, tol 1e-12) on the same design in a child
    process, its peak RSS from getrusage; on SM_ROWS rows when SM_ROWS < ROWS
    (a second panel of that size, which kspill fits too for the check).
Check: max relative difference of coefficients and SEs (x terms and _cons).
"""
import csv
import os
import re
import subprocess
import sys
import time

import numpy as np
import h5py

KSPILL, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
ROWS, RANKS, SM_ROWS = int(float(sys.argv[4])), int(sys.argv[5]), int(float(sys.argv[6]))
sys.path.insert(0, os.path.join(SRC, "tests", "ref"))
from fit_reference import simulate, X  # noqa: E402

TERMS = X + ["_cons"]


def panel(rows):
    d = os.path.join(WORK, "r%d" % rows)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "panel.h5")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        simulate(path + ".tmp", rows, seed=2021)
        os.replace(path + ".tmp", path)
        print(f"simulated {rows:,} rows in {time.perf_counter() - t0:.1f} s: {path}")
    return d


def job(d, name, extra=""):
    ini = os.path.join(d, name + ".ini")
    with open(ini, "w") as f:
        f.write(f"[job]\nworkdir = {d}\n\n[model.m4]\ny = export\nx = {', '.join(X)}\n"
                f"fe = year, industry\nlink = probit\nse = oim\n{extra}")
    return ini


def run_kspill(ini, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rssf = os.path.join(WORK, "maxrss")
    for k in range(RANKS):
        if os.path.exists(f"{rssf}.{k}"):
            os.remove(f"{rssf}.{k}")
    # max RSS of each rank, from /usr/bin/time into a file per rank (its stderr may be lost)
    cmd = ["mpirun", "-n", str(RANKS), "sh", "-c",
           f'exec /usr/bin/time -f %M -o "{rssf}.$OMPI_COMM_WORLD_RANK" "$0" "$@"', KSPILL, "fit",
           ini, *args]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    text = out.stdout + out.stderr
    m = re.search(r"model m4: N = (\d+), loglik (\S+), (\d+) iterations[^,]*, ([0-9.]+) s", text)
    if out.returncode != 0 and not m:
        sys.exit("kspill fit failed:\n" + text)
    rss = [int(open(f"{rssf}.{k}").read().split()[-1]) / 1024 for k in range(RANKS)
           if os.path.exists(f"{rssf}.{k}")]
    return dict(wall=wall, n=int(m.group(1)), llf=float(m.group(2)), iters=int(m.group(3)), model_s=float(m.group(4)),
                rss=max(rss) if rss else float("nan"), rc=out.returncode)


def estimates(d):
    est = {}
    with open(os.path.join(d, "estimates.csv")) as f:
        for r in csv.DictReader(f):
            if r["model"] == "m4" and r["kind"] == "coefficient":
                est[r["term"]] = (float(r["estimate"]), float(r["std_error"]))
    return est


def floor_pass(d):
    with h5py.File(os.path.join(d, "panel.h5")) as f:
        g = f["panel"]
        cols = [g[k][()].astype(np.float64) for k in ("density_firm", "density_city", "tradevalue",
                                                     "newexport", "export")]
        cols.append(cols[0] * cols[1])
        cols += [g["year"][()].astype(np.int32), g["industry"][()].astype(np.int32)]
    n = len(cols[0])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        s = [float(np.sum(c)) for c in cols]
        best = min(best, time.perf_counter() - t0)
    assert all(np.isfinite(s[:4]))
    return best, n


SM_CHILD = r"""
import resource, sys, time
import numpy as np, statsmodels.api as sm
sys.path.insert(0, sys.argv[1])
from fit_reference import design
t0 = time.perf_counter()
df, ex = design(sys.argv[2])
y = df.export.values.astype(float)
A = ex.values
del ex
t1 = time.perf_counter()
res = sm.Probit(y, A).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
t2 = time.perf_counter()
it = res.mle_retvals.get("iterations", -1)
print("SM", len(y), A.shape[1], t1 - t0, t2 - t1, it, res.llf,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
for b, s in zip(res.params[:6], res.bse[:6]):
    print("P", repr(float(b)), repr(float(s)))
"""


def run_statsmodels(d):
    out = subprocess.run(["/usr/bin/python3", "-c", SM_CHILD, os.path.join(SRC, "tests", "ref"),
                          os.path.join(d, "panel.h5")], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("statsmodels failed:\n" + out.stdout + out.stderr)
    lines = out.stdout.split("\n")
    w = next(l for l in lines if l.startswith("SM")).split()
    par = [tuple(map(float, l.split()[1:])) for l in lines if l.startswith("P ")]
    return dict(n=int(w[1]), k=int(w[2]), prep=float(w[3]), fit=float(w[4]), iters=int(w[5]),
                llf=float(w[6]), rss=float(w[7]), params=dict(zip(TERMS, par)))


def main():
    d = panel(ROWS)
    base = run_kspill(job(d, "m4"))
    est = estimates(d)
    marg = run_kspill(job(d, "m4_margins", "margins = ame_paper\n"))
    one = run_kspill(job(d, "m4"), "--set", "fit.max_iterations=1")
    floor_s, n = floor_pass(d)

    dsm = d if SM_ROWS >= ROWS else panel(SM_ROWS)
    if dsm != d:
        ks_sm = run_kspill(job(dsm, "m4"))
        est_sm = estimates(dsm)
    else:
        ks_sm, est_sm = base, est
    sm = run_statsmodels(dsm)
    db = max(abs(est_sm[t][0] - sm["params"][t][0]) / abs(sm["params"][t][0]) for t in TERMS)
    ds = max(abs(est_sm[t][1] - sm["params"][t][1]) / abs(sm["params"][t][1]) for t in TERMS)

    per = lambda s, it, rows: s / it / rows * 1e9  # noqa: E731
    print(f"\npanel: {n:,} rows ({base['n']:,} in the sample), {sm['k']} parameters; kspill {RANKS} ranks x 1 thread")
    print(f"\n| run | wall s | model s | iterations | ns/row/iter | peak MB/rank |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for name, r in (("kspill fit, OIM", base), ("kspill fit, OIM + ame_paper", marg),
                    ("kspill fit, max_iterations = 1", one)):
        print(f"| {name} | {r['wall']:.2f} | {r['model_s']:.3f} | {r['iters']} | "
              f"{per(r['model_s'], r['iters'], r['n']):.1f} | {r['rss']:.0f} |")
    if base["iters"] > 1:
        marg_it = (base["model_s"] - one["model_s"]) / (base["iters"] - 1)
        print(f"| one more iteration: (full - 1 iteration) / (iterations - 1) | | {marg_it:.3f} | 1 | "
              f"{per(marg_it, 1, base['n']):.1f} | |")
    print(f"| numpy sum of the {8} columns (floor, 1 thread) | | {floor_s:.3f} | 1 | "
          f"{floor_s / n * 1e9:.2f} | |")
    scale = ROWS / sm["n"] if sm["n"] != base["n"] else 1.0
    print(f"\nstatsmodels Probit on {sm['n']:,} rows: design {sm['prep']:.2f} s, fit {sm['fit']:.2f} s, "
          f"{sm['iters']} iterations ({per(sm['fit'], max(sm['iters'], 1), sm['n']):.0f} ns/row/iter), "
          f"peak {sm['rss']:.0f} MB")
    if sm["n"] != base["n"]:
        print(f"(statsmodels ran on {sm['n']:,} rows, not {base['n']:,}: its time and memory are scaled "
              f"by {scale:.2f} below, linearly in rows)")
    sm_t, sm_m = sm["fit"] * scale, sm["rss"] * scale
    print(f"\n| | kspill (total over ranks for memory) | statsmodels | ratio |")
    print(f"|---|---:|---:|---:|")
    print(f"| wall s, fit (kspill: whole command) | {base['wall']:.2f} | {sm_t:.2f} | "
          f"{sm_t / base['wall']:.1f}x |")
    print(f"| s, the estimation (kspill: model s) | {base['model_s']:.3f} | {sm_t:.2f} | "
          f"{sm_t / base['model_s']:.1f}x |")
    print(f"| peak memory MB | {base['rss'] * RANKS:.0f} | {sm_m:.0f} | "
          f"{base['rss'] * RANKS / sm_m:.3f} |")
    print(f"\ncheck on {sm['n']:,} rows: max rel diff coefficients {db:.2e}, OIM SEs {ds:.2e}, "
          f"loglik rel diff {abs(ks_sm['llf'] - sm['llf']) / abs(sm['llf']):.1e} (kspill prints 6 decimals)")
    ok = db < 1e-8 and ds < 1e-6
    print("CHECK " + ("OK" if ok else "FAILED (want coef < 1e-8, se < 1e-6)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
