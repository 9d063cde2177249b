#!/usr/bin/python3
"""Fit benchmark: kspill fit against statsmodels Probit and R's glm() on the same panel.

usage: fit_bench.py KSPILL SRC WORK ROWS RANKS SM_ROWS [R_ROWS]

Simulates panel.h5 (tests/ref/fit_reference.py: year and industry effects,
the paper's model (4) regressors) of ROWS rows, then times
  - kspill fit, RANKS ranks x 1 thread: model (4), OIM SEs; the same with
    margins = ame_paper; and one Newton iteration (fit.max_iterations = 1);
    peak memory per rank from /usr/bin/time (max RSS);
  - a plain numpy pass (sum of each column) over the same columns: the floor;
  - statsmodels Probit (Newton, tol 1e-12) on the same design in a child
    process, its peak RSS from getrusage; on SM_ROWS rows when SM_ROWS < ROWS
    (a second panel of that size, which kspill fits too for the check);
  - R's glm(family = binomial(link = "probit")) by tests/ref/fit_reference.R
    (glm.control(epsilon = 1e-14, maxit = 100)) on R_ROWS rows (default ROWS;
    a panel of that size as for statsmodels), from a CSV written by
    `kspill export --format csv` (not timed): the glm() call's time and
    iterations, the R process's peak RSS (/usr/bin/time) and gc()'s "max used"
    during glm(). Skipped, with the reason, when Rscript or data.table is
    missing or when the estimate rows x K x 8 bytes x R_COPIES (the copies of
    the model matrix R holds, measured) exceeds 60% of MemTotal.
Check: max relative difference of coefficients and OIM SEs (x terms and _cons)
and of the log-likelihood, kspill against statsmodels and against R (R's
coefficients after its restarts to the maximum; glm()'s own stopping point
and summary()'s expected-information SEs are printed for information).

KSPILL_BENCH_FULL_WORKDIR=DIR: instead, time Table 1's model (4) alone on
DIR/panel.h5 (made by `kspill panel` on the `full` preset, or any panel):
kspill fit of model (4) and max_iterations = 1 (outputs in WORK/full, which
links DIR/panel.h5; DIR itself is not written), the numpy floor over the same
columns, and R's glm() where it fits in memory (statsmodels is not run).
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import h5py

# Set by configure() (from the command line, or by bench/full_bench.py, which imports this module)
KSPILL = SRC = WORK = R_REF = ""
ROWS = RANKS = SM_ROWS = R_ROWS = 0
FULL = os.environ.get("KSPILL_BENCH_FULL_WORKDIR", "")
R_COPIES = 10  # peak RSS of fit_reference.R / (rows x K x 8): 7.1 to 9.4 measured, plus margin
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from fit_reference import simulate, X  # noqa: E402


def configure(kspill, src, work, rows, ranks, sm_rows, r_rows=None):
    """The settings every function below reads (the command line's arguments)."""
    global KSPILL, SRC, WORK, ROWS, RANKS, SM_ROWS, R_ROWS, R_REF
    KSPILL, SRC, WORK = kspill, src, work
    ROWS, RANKS, SM_ROWS = int(float(rows)), int(ranks), int(float(sm_rows))
    R_ROWS = int(float(r_rows)) if r_rows else ROWS
    R_REF = os.path.join(SRC, "tests", "ref", "fit_reference.R")


TERMS = X + ["_cons"]


# The fixed effects of the study: 15 years (2002-2016) and 96 HS2 chapters, as
# in the `full` preset's panel (p = 115 parameters with model (4)'s x terms).
YEARS = int(os.environ.get("KSPILL_BENCH_YEARS", "15"))
INDUSTRIES = int(os.environ.get("KSPILL_BENCH_INDUSTRIES", "96"))


def panel(rows):
    d = os.path.join(WORK, "r%d-y%d-i%d" % (rows, YEARS, INDUSTRIES))
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "panel.h5")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        simulate(path + ".tmp", rows, seed=2021, years=YEARS, industries=INDUSTRIES)
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
    dm = re.search(r"model m4: design of \d+ rows x \d+ parameters in ([0-9.]+) s", text)
    return dict(wall=wall, n=int(m.group(1)), llf=float(m.group(2)), iters=int(m.group(3)), model_s=float(m.group(4)),
                design_s=float(dm.group(1)) if dm else float("nan"),
                rss=max(rss) if rss else float("nan"), rc=out.returncode)


def estimates(d):
    est = {}
    with open(os.path.join(d, "estimates.csv")) as f:
        for r in csv.DictReader(f):
            if r["model"] == "m4" and r["kind"] == "coefficient":
                est[r["term"]] = (float(r["estimate"]), float(r["std_error"]))
    return est


def floor_pass(d):
    """Best of 3 numpy sums over the 8 columns the model reads, in chunks of 2^22 rows
    (one chunk up to 4.2 M rows; bounded memory for the full panel): the floor."""
    names = ("density_firm", "density_city", "tradevalue", "newexport", "export")
    total = 0.0
    with h5py.File(os.path.join(d, "panel.h5"), "r") as f:
        g = f["panel"]
        n = g["export"].shape[0]
        step = 1 << 22
        for a in range(0, n, step):
            b = min(n, a + step)
            cols = [g[k][a:b].astype(np.float64) for k in names]
            cols.append(cols[0] * cols[1])
            cols += [g["year"][a:b].astype(np.int32), g["industry"][a:b].astype(np.int32)]
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                s = [float(np.sum(c)) for c in cols]
                best = min(best, time.perf_counter() - t0)
            assert len(s) == 8
            total += best
    return total, n


def ks_stats(d):
    """k and the full-precision log-likelihood of m4 from results.h5."""
    with h5py.File(os.path.join(d, "results.h5"), "r") as f:
        a = f["models/m4"].attrs
        return int(a["k"]), float(a["loglik"])


def mem_total():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def run_r(d, n, k):
    """R's glm() probit via tests/ref/fit_reference.R on d/panel.h5 (exported to CSV first),
    or dict(skipped=reason)."""
    if not shutil.which("Rscript"):
        return dict(skipped="Rscript not found (scripts/setup installs r-base-core r-cran-data.table)")
    chk = subprocess.run(["Rscript", "-e", "suppressPackageStartupMessages(library(data.table))"],
                         capture_output=True, text=True)
    if chk.returncode != 0:
        return dict(skipped="R package data.table missing (scripts/setup installs r-cran-data.table)")
    need, mt = n * k * 8 * R_COPIES, mem_total()
    if need > 0.6 * mt:
        return dict(skipped=f"{n:,} rows x {k} parameters x 8 bytes x {R_COPIES} copies of the model matrix "
                            f"= {need / 2**30:.1f} GiB > 60% of MemTotal ({mt / 2**30:.1f} GiB)")
    csv_path = os.path.join(d, "panel_r.csv")
    export_s = 0.0
    if not (os.path.exists(csv_path)
            and os.path.getmtime(csv_path) >= os.path.getmtime(os.path.join(d, "panel.h5"))):
        t0 = time.perf_counter()
        out = subprocess.run([KSPILL, "-q", "export", job(d, "m4"), "--format", "csv", "--columns",
                              "year,industry,export,density_firm,density_city,tradevalue,newexport",
                              "--file", csv_path], capture_output=True, text=True)
        export_s = time.perf_counter() - t0
        if out.returncode != 0:
            sys.exit("kspill export (for R) failed:\n" + out.stdout + out.stderr)
    res, rssf = os.path.join(d, "r_m4.csv"), os.path.join(WORK, "maxrss.R")
    t0 = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rssf, "Rscript", R_REF, csv_path, res,
                          "--link", "probit", "--quiet"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit("R glm (tests/ref/fit_reference.R) failed:\n" + out.stdout + out.stderr)
    coef, st = {}, {}
    with open(res) as f:
        for r in csv.DictReader(f):
            if r["kind"] == "coefficient":
                coef[r["term"]] = tuple(float(r[c]) for c in ("estimate", "std_error", "std_error_summary",
                                                              "estimate_glm"))
            elif r["kind"] == "stat":
                st[r["term"]] = float(r["estimate"])
    rss = float(open(rssf).read().split()[-1]) / 1024
    return dict(coef=coef, n=int(st["n"]), k=int(st["k"]), glm_s=st["glm_seconds"], read_s=st["read_seconds"],
                iters=int(st["iterations"]), converged=int(st["converged"]), llf=st["loglik"],
                polish=int(st["polish_steps"]), moved=st["polish_max_rel_change"], dec=st["newton_decrement"],
                gc=st["glm_gc_max_mb"], rss=rss, wall=wall, export_s=export_s)


def r_check(r, est, llf):
    """max relative differences kspill vs R: coefficients (R at the maximum and glm's own stop),
    OIM SEs, summary() SEs, loglik."""
    rel = lambda a, b: abs(a - b) / abs(b)  # noqa: E731
    return dict(b=max(rel(est[t][0], r["coef"][t][0]) for t in TERMS),
                b_glm=max(rel(est[t][0], r["coef"][t][3]) for t in TERMS),
                se=max(rel(est[t][1], r["coef"][t][1]) for t in TERMS),
                se_sum=max(rel(est[t][1], r["coef"][t][2]) for t in TERMS),
                ll=rel(llf, r["llf"]))


def per(s, it, rows):
    return s / it / rows * 1e9


def print_r(r, ks_n):
    """The R line under the statsmodels one; returns the scale to ks_n rows."""
    if "skipped" in r:
        print(f"\nR glm probit: skipped: {r['skipped']}")
        return None
    print(f"\nR glm probit on {r['n']:,} rows: glm() {r['glm_s']:.2f} s (model frame, model matrix and IRLS), "
          f"{r['iters']} iterations ({per(r['glm_s'], max(r['iters'], 1), r['n']):.0f} ns/row/iter), "
          f"peak {r['rss']:.0f} MB (R process; gc() max used in glm() {r['gc']:.0f} MB); "
          f"fread {r['read_s']:.2f} s and kspill export to CSV {r['export_s']:.2f} s not counted")
    print(f"(glm.control(epsilon = 1e-14, maxit = 100) stopped up to {r['moved']:.1e} (relative, FE included) from the maximum; "
          f"{r['polish']} restart(s) of glm.fit, not timed, reached it: Newton decrement {r['dec']:.1e})")
    scale = ks_n / r["n"] if r["n"] != ks_n else 1.0
    if scale != 1.0:
        print(f"(R ran on {r['n']:,} rows, not {ks_n:,}: its time and memory are scaled by {scale:.2f} below, "
              f"linearly in rows)")
    return scale


SM_CHILD = r"""
import resource, sys, time
import numpy as np, statsmodels.api as sm
sys.path.insert(0, sys.argv[1])
from fit_reference import design
t0 = time.perf_counter()
df, ex = design(sys.argv[2])
y = df.export.values.astype(float)
A = np.asarray(ex)
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


def kspill_table(n, base, runs):
    # ns/row/iter: (model s - design s) / iterations (the evaluation at 0 for the
    # collinearity check and the SEs included); the marginal line is one iteration alone
    print(f"\n| run | wall s | model s | of which design s | iterations | ns/row/iter | peak MB/rank |")
    print(f"|---|---:|---:|---:|---:|---:|---:|")
    for name, r in runs:
        print(f"| {name} | {r['wall']:.2f} | {r['model_s']:.3f} | {r['design_s']:.3f} | {r['iters']} | "
              f"{per(r['model_s'] - r['design_s'], r['iters'], r['n']):.1f} | {r['rss']:.0f} |")
    one = runs[-1][1]
    if base["iters"] > 1:
        # design times vary more than an iteration lasts: take them out of both runs
        marg_it = ((base["model_s"] - base["design_s"]) - (one["model_s"] - one["design_s"])) / (base["iters"] - 1)
        print(f"| one more iteration: (full - 1 iteration, designs taken out) / (iterations - 1) | | {marg_it:.3f} | | 1 | "
              f"{per(marg_it, 1, base['n']):.1f} | |")


def floor_line(floor_s, n):
    print(f"| numpy sum of the {8} columns (floor, 1 thread) | | {floor_s:.3f} | | 1 | "
          f"{floor_s / n * 1e9:.2f} | |")


def main_full():
    """KSPILL_BENCH_FULL_WORKDIR: model (4) alone on an existing panel.h5."""
    src = os.path.join(os.path.abspath(FULL), "panel.h5")
    if not os.path.isfile(src):
        sys.exit(f"KSPILL_BENCH_FULL_WORKDIR={FULL}: no panel.h5 there; make one with `kspill panel JOB.ini` "
                 f"(for the full scale, a job with [synth] preset = full)")
    d = os.path.join(WORK, "full")
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, "panel.h5")
    if os.path.islink(link) or os.path.exists(link):
        os.remove(link)
    os.symlink(src, link)  # kspill fit writes its outputs into d, never into FULL
    base = run_kspill(job(d, "m4"))
    est = estimates(d)
    k, llf = ks_stats(d)
    one = run_kspill(job(d, "m4"), "--set", "fit.max_iterations=1")
    floor_s, n = floor_pass(d)
    print(f"\npanel: {src}: {n:,} rows ({base['n']:,} in the sample), {k} parameters; "
          f"model (4) alone; kspill {RANKS} ranks x 1 thread")
    kspill_table(n, base, (("kspill fit, model (4), OIM", base), ("kspill fit, max_iterations = 1", one)))
    floor_line(floor_s, n)
    r = run_r(d, base["n"], k)
    print_r(r, base["n"])
    if "skipped" in r:
        return 0
    c = r_check(r, est, llf)
    print(f"\n| | kspill (total over ranks for memory) | R glm | ratio |")
    print(f"|---|---:|---:|---:|")
    print(f"| wall s, fit (kspill: whole command) | {base['wall']:.2f} | {r['glm_s']:.2f} | "
          f"{r['glm_s'] / base['wall']:.1f}x |")
    print(f"| s, the estimation (kspill: model s) | {base['model_s']:.3f} | {r['glm_s']:.2f} | "
          f"{r['glm_s'] / base['model_s']:.1f}x |")
    print(f"| peak memory MB | {base['rss'] * RANKS:.0f} | {r['rss']:.0f} | {base['rss'] * RANKS / r['rss']:.3f} |")
    return report_r_check(r, c)


def report_r_check(r, c):
    print(f"\ncheck vs R glm on {r['n']:,} rows: max rel diff coefficients {c['b']:.2e} "
          f"(glm()'s own stopping point {c['b_glm']:.2e}), OIM SEs {c['se']:.2e} "
          f"(summary()'s expected-information SEs {c['se_sum']:.1e}), loglik {c['ll']:.1e}")
    ok = c["b"] < 1e-8 and c["se"] < 1e-6 and c["ll"] < 1e-9
    print("CHECK R " + ("OK" if ok else "FAILED (want coef < 1e-8, se < 1e-6, loglik < 1e-9)"))
    return 0 if ok else 1


def main():
    if FULL:
        return main_full()
    d = panel(ROWS)
    base = run_kspill(job(d, "m4"))
    est = estimates(d)
    k, llf = ks_stats(d)
    marg = run_kspill(job(d, "m4_margins", "margins = ame_paper\n"))
    one = run_kspill(job(d, "m4"), "--set", "fit.max_iterations=1")
    floor_s, n = floor_pass(d)

    ks_runs = {ROWS: (base, est, llf)}

    def kspill_on(rows):  # kspill fit on the panel of `rows` rows (for the checks)
        if rows not in ks_runs:
            dd = panel(rows)
            ks_runs[rows] = (run_kspill(job(dd, "m4")), estimates(dd), ks_stats(dd)[1])
        return ks_runs[rows]

    dsm = panel(min(SM_ROWS, ROWS))
    ks_sm, est_sm, _ = kspill_on(min(SM_ROWS, ROWS))
    sm = run_statsmodels(dsm)
    db = max(abs(est_sm[t][0] - sm["params"][t][0]) / abs(sm["params"][t][0]) for t in TERMS)
    ds = max(abs(est_sm[t][1] - sm["params"][t][1]) / abs(sm["params"][t][1]) for t in TERMS)

    r_rows = min(R_ROWS, ROWS)
    ks_r = kspill_on(r_rows)
    r = run_r(panel(r_rows), ks_r[0]["n"], k)

    print(f"\npanel: {n:,} rows ({base['n']:,} in the sample), {sm['k']} parameters; kspill {RANKS} ranks x 1 thread")
    kspill_table(n, base, (("kspill fit, OIM", base), ("kspill fit, OIM + ame_paper", marg),
                           ("kspill fit, max_iterations = 1", one)))
    floor_line(floor_s, n)
    scale = ROWS / sm["n"] if sm["n"] != base["n"] else 1.0
    print(f"\nstatsmodels Probit on {sm['n']:,} rows: design {sm['prep']:.2f} s, fit {sm['fit']:.2f} s, "
          f"{sm['iters']} iterations ({per(sm['fit'], max(sm['iters'], 1), sm['n']):.0f} ns/row/iter), "
          f"peak {sm['rss']:.0f} MB")
    if sm["n"] != base["n"]:
        print(f"(statsmodels ran on {sm['n']:,} rows, not {base['n']:,}: its time and memory are scaled "
              f"by {scale:.2f} below, linearly in rows)")
    r_scale = print_r(r, base["n"])
    sm_t, sm_m = sm["fit"] * scale, sm["rss"] * scale
    def rcol(v, ks):  # the R glm and ratio cells
        return " skipped | |" if r_scale is None else f" {v * r_scale:.2f} | {v * r_scale / ks:.1f}x |"
    print(f"\n| | kspill (total over ranks for memory) | statsmodels | ratio | R glm | ratio |")
    print(f"|---|---:|---:|---:|---:|---:|")
    sm_d = sm["prep"] * scale
    ks_d, ks_e = base["design_s"], base["model_s"] - base["design_s"]
    # R's glm() builds its model frame and matrix and iterates in one call: it is set
    # beside kspill's design + estimation
    print(f"| design: sample, fixed effects, x columns (statsmodels: dummies, exog) | {ks_d:.3f} | {sm_d:.2f} | "
          f"{sm_d / ks_d:.1f}x | | |")
    print(f"| estimation: Newton iterations, OIM SEs | {ks_e:.3f} | {sm_t:.2f} | {sm_t / ks_e:.1f}x | | |")
    print(f"| design + estimation (kspill: model s; R: glm()) | {base['model_s']:.3f} | {sm_d + sm_t:.2f} | "
          f"{(sm_d + sm_t) / base['model_s']:.1f}x |" + rcol(r.get("glm_s"), base["model_s"]))
    print(f"| wall s, whole command (kspill: MPI start, reading panel.h5, outputs too) | {base['wall']:.2f} | "
          f"{sm_d + sm_t:.2f} | {(sm_d + sm_t) / base['wall']:.1f}x |" + rcol(r.get("glm_s"), base["wall"]))
    mem_r = (" skipped | |" if r_scale is None
             else f" {r['rss'] * r_scale:.0f} | {base['rss'] * RANKS / (r['rss'] * r_scale):.3f} |")
    print(f"| peak memory MB | {base['rss'] * RANKS:.0f} | {sm_m:.0f} | "
          f"{base['rss'] * RANKS / sm_m:.3f} |" + mem_r)
    print(f"\ncheck on {sm['n']:,} rows: max rel diff coefficients {db:.2e}, OIM SEs {ds:.2e}, "
          f"loglik rel diff {abs(ks_sm['llf'] - sm['llf']) / abs(sm['llf']):.1e} (kspill prints 6 decimals)")
    ok = db < 1e-8 and ds < 1e-6
    print("CHECK " + ("OK" if ok else "FAILED (want coef < 1e-8, se < 1e-6)"))
    rc = 0 if ok else 1
    if r_scale is not None:
        rc |= report_r_check(r, r_check(r, ks_r[1], ks_r[2]))
    return rc


if __name__ == "__main__":
    configure(*sys.argv[1:7], sys.argv[7] if len(sys.argv) > 7 else None)
    sys.exit(main())
