#!/usr/bin/env python3
"""Independent checks of `kspill fit` (tests/mpi/test_fit.sh, bench/fit).

  simulate OUT.h5 --rows N [--seed S] [--years Y] [--industries I] [--firms F]
      a panel.h5 in the documented layout (docs/hdf5.md) with a probit
      outcome of known coefficients (TRUTH below), year and industry effects.
  compare DUMP PANEL.h5 MODEL LINK SE [--margins] [--where-region R]
      re-estimate MODEL of the dump (KS_FIT_DUMP output of kspill) with
      statsmodels on the same data and check the agreement of the issue.
  recover DUMP MODEL: every coefficient within 3 SE of TRUTH.
"""
import sys
import numpy as np
import h5py

X = ["density_firm", "density_city", "density_firm*density_city", "tradevalue", "newexport"]
TRUTH = {"density_firm": 2.0, "density_city": 0.8, "density_firm*density_city": -1.5,
         "tradevalue": -0.03, "newexport": 0.3}
CONS = -0.4


def simulate(path, rows, seed=1, years=14, industries=30, firms=5000, link="probit"):
    rng = np.random.default_rng(seed)
    year = np.sort(rng.integers(2003, 2003 + years, rows)).astype(np.int16)
    firm = rng.integers(0, firms, rows).astype(np.int64)
    order = np.lexsort((firm, year))
    year, firm = year[order], firm[order]
    industry = rng.integers(1, industries + 1, rows).astype(np.int16)
    dfirm = rng.uniform(0.05, 0.6, rows)
    dcity = rng.uniform(0.0, 1.0, rows)
    tv = rng.normal(15.0, 2.0, rows)
    ne = np.log1p(rng.poisson(3.0, rows).astype(float))
    ye = np.sin(np.arange(2003, 2003 + years)) * 0.2
    ie = np.cos(np.arange(1, industries + 1) * 1.7) * 0.3
    xb = (CONS + TRUTH["density_firm"] * dfirm + TRUTH["density_city"] * dcity
          + TRUTH["density_firm*density_city"] * dfirm * dcity + TRUTH["tradevalue"] * tv
          + TRUTH["newexport"] * ne + ye[year - 2003] + ie[industry - 1])
    e = rng.standard_normal(rows) if link == "probit" else rng.logistic(size=rows)
    y = (xb + e > 0).astype(np.int8)
    region = (firm % 4).astype(np.int8)
    with h5py.File(path, "w") as f:
        f.attrs["kspill_format"] = "panel"
        f.attrs["rows"] = rows
        g = f.create_group("panel")
        cols = dict(firm=firm, year=year, product=(industry.astype(np.int32) * 100 + 1),
                    industry=industry, city=(firm % 50).astype(np.int32) + 1100,
                    province=(firm % 10).astype(np.int16) + 11, region=region,
                    market=(firm % 3).astype(np.int8), size=(firm % 3).astype(np.int8),
                    export=y, density_firm=dfirm, density_city=dcity, tradevalue=tv,
                    newexport=ne)
        for k, v in cols.items():
            g.create_dataset(k, data=v)
        g["region"].attrs["codes"] = "0=East;1=Central;2=West;3=Northeast"
        g["market"].attrs["codes"] = "0=low;1=middle;2=high"
        g["size"].attrs["codes"] = "0=small;1=middle;2=large"
        g["export"].attrs["codes"] = "0=no;1=yes"
        f.create_dataset("firms/id", data=np.array([b"F%06d" % i for i in range(firms)]))


def read_dump(path):
    res = {}
    for line in open(path):
        w = line.split()
        if w[0] == "model":
            m = res.setdefault(w[1], {"coef": {}, "ame": {}, "ame_paper": {}, "mem": {}, "sd": {}})
            kv = dict(zip(w[2::2], w[3::2]))
            m.update({k: float(kv[k]) for k in ("loglik", "loglik_null", "pseudo_r2", "n")})
        elif w[0] == "coef":
            res[w[1]]["coef"][w[2]] = (float(w[3]), float(w[4]))
        elif w[0] in ("ame", "ame_paper", "mem"):
            res[w[1]][w[0]][w[2]] = (float(w[3]), float(w[4]))
        elif w[0] == "sd":
            res[w[1]]["sd"][w[2]] = float(w[3])
    return res


def design(panel, where_region=None, drop_first_year=False):
    import pandas as pd
    with h5py.File(panel) as f:
        d = {k: f["panel"][k][()] for k in ("firm", "year", "industry", "region", "export",
                                            "density_firm", "density_city", "tradevalue", "newexport")}
    df = pd.DataFrame(d)
    if where_region is not None:
        df = df[df.region == where_region]
    df = df.dropna()
    df["density_firm*density_city"] = df.density_firm * df.density_city
    ex = df[X].copy()
    ex.insert(len(X), "_cons", 1.0)
    for fe in ("year", "industry"):
        lev = np.sort(df[fe].unique())
        for l in lev[1:]:
            ex[f"{fe}={l}"] = (df[fe].values == l).astype(float)
    return df, ex


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def compare(dump, panel, model, link, se, margins=False):
    import statsmodels.api as sm
    r = read_dump(dump)[model]
    df, ex = design(panel)
    y = df.export.values.astype(float)
    if link == "lpm":
        res = sm.OLS(y, ex.values).fit(**({"cov_type": "cluster", "cov_kwds": {"groups": df.firm.values}}
                                           if se == "cluster" else {}))
        ll = None
    else:
        cls = sm.Probit if link == "probit" else sm.Logit
        mod = cls(y, ex.values)
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": df.firm.values}} if se == "cluster" else {}
        res = mod.fit(method="newton", tol=1e-14, maxiter=100, disp=0, **kw)
        ll = res.llf
    worst = {"coef": 0.0, "se": 0.0}
    ok = True
    for j, name in enumerate(list(X) + ["_cons"]):
        b, s = r["coef"][name]
        worst["coef"] = max(worst["coef"], rel(b, res.params[j]))
        worst["se"] = max(worst["se"], rel(s, res.bse[j]))
    print(f"{model} ({link}, {se}): N {len(y)}, max rel diff coef {worst['coef']:.2e}, "
          f"se {worst['se']:.2e}", end="")
    ok &= worst["coef"] < 1e-8 and worst["se"] < 1e-6 and int(r["n"]) == len(y)
    if ll is not None:
        print(f", loglik {rel(r['loglik'], ll):.2e}", end="")
        ok &= rel(r["loglik"], ll) < 1e-9
    print()
    if margins and link != "lpm":
        me = res.get_margeff(at="overall", method="dydx")
        mm = res.get_margeff(at="mean", method="dydx")
        wm = 0.0
        for j, name in enumerate(X):
            a, s = r["ame_paper"][name]
            wm = max(wm, rel(a, me.margeff[j]), rel(s, me.margeff_se[j]))
            if name in r["mem"]:
                a, s = r["mem"][name]
                wm = max(wm, rel(a, mm.margeff[j]), rel(s, mm.margeff_se[j]))
        print(f"{model}: ame_paper and mem vs get_margeff: max rel diff {wm:.2e}")
        ok &= wm < 1e-6
        # the correct ame through the interaction, by the same formula in numpy
        from scipy.stats import norm, logistic
        xb = ex.values @ res.params
        pdf = norm.pdf(xb) if link == "probit" else logistic.pdf(xb)
        b = res.params
        want = {"density_firm": np.mean(pdf * (b[0] + b[2] * df.density_city.values)),
                "density_city": np.mean(pdf * (b[1] + b[2] * df.density_firm.values))}
        wa = max(rel(r["ame"][k][0], v) for k, v in want.items())
        print(f"{model}: ame through the interaction vs numpy: max rel diff {wa:.2e}")
        ok &= wa < 1e-6
    return ok


def recover(dump, model):
    r = read_dump(dump)[model]
    ok = True
    for name, t in TRUTH.items():
        b, s = r["coef"][name]
        dev = (b - t) / s
        print(f"  {name}: {b:.5f} (se {s:.5f}) truth {t}: {dev:+.2f} se")
        ok &= abs(dev) < 3
    return ok


def main():
    a = sys.argv[1:]
    if a[0] == "simulate":
        opts = dict(zip(a[2::2], a[3::2]))
        simulate(a[1], int(float(opts.get("--rows", 1e5))), int(opts.get("--seed", 1)),
                 int(opts.get("--years", 14)), int(opts.get("--industries", 30)),
                 int(opts.get("--firms", 5000)), opts.get("--link", "probit"))
        return 0
    if a[0] == "compare":
        return 0 if compare(a[1], a[2], a[3], a[4], a[5], "--margins" in a) else 1
    if a[0] == "recover":
        return 0 if recover(a[1], a[2]) else 1
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
