#!/usr/bin/env python3
"""Independent check of results.h5:/report (stage report, docs/report.md) against numpy
over the whole panel: report_reference.py WORKDIR PREFECTURES_CSV.

Quantiles are np.percentile (linear, "type 7"), equal to kspill's to the last
bit or two; means to 1e-13 relative (kspill sums exactly in fixed point, numpy
in pairwise floating point); the KDE against the direct sum of Gaussians at
every data point with the same bandwidth.  kspill bins the points into 4096
equal bins of width w and puts each at its bin centre, so each moves by at
most w/2, and the estimate moves by at most max|phi'| w / (2 h^2) =
w / (2 h^2 sqrt(2 pi e)) (phi' of the standard normal peaks at 1/sqrt(2 pi e)):
that bound is the tolerance, and the observed error is printed."""
import csv
import sys

import h5py
import numpy as np

work, geo = sys.argv[1], sys.argv[2]
VARS = ("density_firm", "density_city")
REGIONS = ("East", "Central", "West", "Northeast")
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def close(a, b, rtol, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.allclose(a, b, rtol=rtol, atol=rtol * 1e-3, equal_nan=True)
    check(ok, f"{what}: kspill {a} numpy {b}")


with h5py.File(f"{work}/panel.h5", "r") as f:
    p = f["panel"]
    year, export = p["year"][:], p["export"][:]
    city = p["city"][:]
    region_code = p["region"][:]
    codes = p["region"].attrs.get("codes", b"0=East;1=Central;2=West;3=Northeast")
    codes = codes.decode() if isinstance(codes, bytes) else str(codes)
    dens = {v: p[v][:] for v in VARS}
names = dict((int(k), v) for k, v in (kv.split("=") for kv in codes.split(";")))
region = np.array([REGIONS.index(names[c]) if names.get(c) in REGIONS else -1 for c in region_code])

r = h5py.File(f"{work}/results.h5", "r")["report"]
Y2, Y1 = int(r.attrs["compare_year"]), int(r.attrs["year"])
check(r.attrs["kspill_stage"] in (b"report", "report"), "kspill_stage")


def box(x):
    x = x[np.isfinite(x)]
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    iqr = q3 - q1
    return dict(n=len(x), mean=x.mean(), sd=x.std(ddof=1), min=x.min(), max=x.max(), q1=q1,
                median=med, q3=q3, whisker_low=x[x >= q1 - 1.5 * iqr].min(),
                whisker_high=x[x <= q3 + 1.5 * iqr].max())


def check_box(g, i, ref, what):
    check(g["n"][i] == ref["n"], f"{what} n {g['n'][i]} != {ref['n']}")
    for k in ("min", "max", "whisker_low", "whisker_high"):
        check(g[k][i] == ref[k], f"{what} {k}: {g[k][i]!r} != {ref[k]!r}")
    for k in ("q1", "median", "q3"):
        close(g[k][i], ref[k], 1e-15, f"{what} {k}")
    close(g["mean"][i], ref["mean"], 1e-13, f"{what} mean")
    close(g["sd"][i], ref["sd"], 1e-9, f"{what} sd")


# ---- Fig. 2 and Fig. 1 ----
g2 = r["fig2"]
i = 0
worst = 0.0
for v in VARS:
    xs = []
    for e in (1, 0):
        x = dens[v][(year == Y1) & (export == e)]
        x = x[np.isfinite(x)]
        xs.append(x)
        check(g2["variable"][i].decode() == v, "fig2 variable order")
        check_box(g2, i, box(x), f"fig2 {v} export={e}")
        i += 1
    f1 = r[f"fig1/{v}"]
    lo, hi = min(x.min() for x in xs), max(x.max() for x in xs)
    check(f1.attrs["lo"] == lo and f1.attrs["hi"] == hi, f"fig1 {v} range")
    grid = f1["x"][:]
    close(grid, np.linspace(lo, hi, 512), 1e-14, f"fig1 {v} grid")
    w = (hi - lo) / 4096
    for gi, (x, name) in enumerate(zip(xs, ("kde_exported", "kde_not_exported"))):
        q1, q3 = np.percentile(x, [25, 75])
        h = 0.9 * min(x.std(ddof=1), (q3 - q1) / 1.34) * len(x) ** -0.2
        close(f1["bandwidth"][gi], h, 1e-9, f"fig1 {v} {name} bandwidth")
        u = (grid[:, None] - x[None, :]) / h
        exact = np.exp(-0.5 * u * u).sum(axis=1) / (len(x) * h * np.sqrt(2 * np.pi))
        tol = w / (2 * h * h * np.sqrt(2 * np.pi * np.e))
        err = np.abs(f1[name][:] - exact).max()
        worst = max(worst, err / tol)
        print(f"fig1 {v} {name}: h {h:.4g}, max |binned - exact| {err:.3g}, bound {tol:.3g} "
              f"(peak {exact.max():.3g})")
        check(err <= tol * (1 + 1e-9), f"fig1 {v} {name}: error {err} above the bound {tol}")
        check(np.array_equal(f1["bin_count"][gi].sum(), len(x)), f"fig1 {v} bin counts")

# ---- Fig. 3 ----
g3 = r["fig3"]
i = 0
for y in (Y2, Y1):
    for k, reg in enumerate(REGIONS):
        for v in VARS:
            x = dens[v][(year == y) & (export == 1) & (region == k)]
            check(g3["year"][i] == y and g3["region"][i].decode() == reg, "fig3 order")
            if np.isfinite(x).sum() > 0:
                check_box(g3, i, box(x), f"fig3 {y} {reg} {v}")
            else:
                check(g3["n"][i] == 0, f"fig3 {y} {reg} {v} n")
            i += 1

# ---- Fig. 4 ----
coords = {}
with open(geo, encoding="utf-8") as fh:
    for row in csv.DictReader(fh):
        if row["lon"] and row["lat"]:
            coords[int(row["code4"])] = (float(row["lon"]), float(row["lat"]))
g4 = r["fig4"]
ref_rows = []
for y in (Y2, Y1):
    sel = (year == y) & (export == 1) & (city >= 0)
    for c in np.unique(city[sel]):
        if int(c) not in coords:
            continue
        m = sel & (city == c)
        regs = np.unique(region[m])
        ref_rows.append((y, int(c), *coords[int(c)], regs[0], dens["density_firm"][m].mean(),
                         np.nanmean(dens["density_city"][m]), m.sum()))
check(len(g4["city"]) == len(ref_rows), f"fig4 rows {len(g4['city'])} != {len(ref_rows)}")
for i, row in enumerate(ref_rows[: len(g4["city"])]):
    got = (g4["year"][i], g4["city"][i], g4["lon"][i], g4["lat"][i], g4["region"][i])
    check(got == row[:5], f"fig4 row {i}: {got} != {row[:5]}")
    close(g4["mean_density_firm"][i], row[5], 1e-13, f"fig4 {row[:2]} mean_density_firm")
    close(g4["mean_density_city"][i], row[6], 1e-13, f"fig4 {row[:2]} mean_density_city")
    check(g4["n"][i] == row[7], f"fig4 {row[:2]} n")

# ---- Fig. 5 ----
g5 = r["fig5"]
ys = np.unique(year)
check(np.array_equal(g5["year"][:], ys), "fig5 years")
for i, y in enumerate(ys):
    for e, suf in ((1, "exported"), (0, "not_exported")):
        m = (year == y) & (export == e)
        check(g5[f"n_{suf}"][i] == m.sum(), f"fig5 {y} n_{suf}")
        for v in VARS:
            x = dens[v][m]
            x = x[np.isfinite(x)]
            close(g5[f"mean_{v}_{suf}"][i], x.mean() if len(x) else np.nan, 1e-13, f"fig5 {y} {v} {suf}")

# ---- the gnuplot tables hold the same numbers ----
def table(name):
    with open(f"{work}/report/data/{name}") as fh:
        head = fh.readline()
        rows = [line.split() for line in fh]
    return head[1:].split(), rows


cols, rows = table("fig1_density_firm.dat")
check(cols == ["x", "kde_exported", "kde_not_exported"] and len(rows) == 512, "fig1 table shape")
check(all(float(a) == b for a, b in zip((r_[1] for r_ in rows), r["fig1/density_firm/kde_exported"][:])),
      "fig1 table values")
cols, rows = table("fig2_box.dat")
check(cols == "variable group n mean q1 median q3 whisker_low whisker_high min max".split(), "fig2 columns")
check([float(x[5]) for x in rows] == list(g2["median"][:]), "fig2 table medians")
cols, rows = table("fig3_box.dat")
check(cols[:3] == ["year", "region", "variable"] and len(rows) == 16, "fig3 table")
cols, rows = table("fig4_city.dat")
check(cols == "year city lon lat region mean_density_firm mean_density_city n".split(), "fig4 columns")
check([float(x[5]) for x in rows] == list(g4["mean_density_firm"][:]), "fig4 table means")
cols, rows = table("fig5_yearly.dat")
check(len(cols) == 7 and [int(x[0]) for x in rows] == list(ys), "fig5 table")

print(f"KDE: worst error {worst:.3f} of the binning bound")
if errors:
    print("\n".join(errors[:30]), file=sys.stderr)
    sys.exit(1)
print("results.h5:/report equals the numpy reference")
