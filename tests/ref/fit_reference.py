#!/usr/bin/env python3
"""Independent checks of `kspill fit` (tests/mpi/test_fit.sh, bench/fit).

  simulate OUT.h5 --rows N [--seed S] [--years Y] [--industries I] [--firms F]
           [--link probit|logit] [--reps R]
      a panel.h5 in the documented layout (docs/hdf5.md) with a probit
      outcome of known coefficients (TRUTH below), year and industry effects.
      With --reps: R independent samples of N rows each, one after the other,
      and an integer column rep = 0..R-1 (for `where = rep == k`).
  compare DUMP PANEL.h5 MODEL LINK SE [--margins] [--where EXPR]
          [MODEL LINK SE [...]]... [--dump DUMP] [--panel PANEL.h5] ...
      re-estimate each MODEL of the dump (KS_FIT_DUMP output of kspill) with
      statsmodels on the same data and check the agreement of the issue;
      SE = oim | robust | cluster (by firm); EXPR filters the panel as the
      model's `where` does, in pandas query syntax over the integer codes
      ("region == 0 and year >= 2005"); --dump/--panel apply to the models
      after them.  One process for many models: statsmodels loads once.
  spread DUMP...: every model of the dumps is a replication; every
      coefficient's mean reported SE / sd of the estimates within 20% of 1.
  recover DUMP MODEL: every coefficient within 3 SE of TRUTH.
"""
import sys
import numpy as np
import h5py

X = ["density_firm", "density_city", "density_firm*density_city", "tradevalue", "newexport"]
TRUTH = {"density_firm": 2.0, "density_city": 0.8, "density_firm*density_city": -1.5,
         "tradevalue": -0.03, "newexport": 0.3}
CONS = -0.4


def draw(rng, rows, years=14, industries=30, firms=5000, link="probit"):
    """One sample of `rows` rows from the model: the panel columns."""
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
    return dict(firm=firm, year=year, product=(industry.astype(np.int32) * 100 + 1),
                industry=industry, city=(firm % 50).astype(np.int32) + 1100,
                province=(firm % 10).astype(np.int16) + 11, region=region,
                market=(firm % 3).astype(np.int8), size=(firm % 3).astype(np.int8),
                export=y, density_firm=dfirm, density_city=dcity, tradevalue=tv,
                newexport=ne)


def simulate(path, rows, seed=1, years=14, industries=30, firms=5000, link="probit", reps=None):
    """With reps: reps independent samples of `rows` rows one after the other,
    and an integer column rep (0..reps-1) saying which sample a row is from."""
    rng = np.random.default_rng(seed)
    if reps is None:
        cols = draw(rng, rows, years, industries, firms, link)
    else:
        parts = [draw(rng, rows, years, industries, firms, link) for _ in range(reps)]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        cols["rep"] = np.repeat(np.arange(reps, dtype=np.int16), rows)
    with h5py.File(path, "w") as f:
        f.attrs["kspill_format"] = "panel"
        f.attrs["rows"] = len(cols["firm"])
        g = f.create_group("panel")
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
            m.update({k: int(kv[k]) for k in ("estimated", "converged") if k in kv})
        elif w[0] == "coef":
            res[w[1]]["coef"][w[2]] = (float(w[3]), float(w[4]))
        elif w[0] in ("ame", "ame_paper", "mem"):
            res[w[1]][w[0]][w[2]] = (float(w[3]), float(w[4]))
        elif w[0] == "sd":
            res[w[1]]["sd"][w[2]] = float(w[3])
    return res


_PANELS = {}   # panel -> its columns; (panel, where) -> sample and design
_STARTS = {}   # (panel, where, link) -> estimate
_OLS = {}      # (panel, where) -> statsmodels OLS model


def design(panel, where=None):
    """The estimation sample (a DataFrame) and the design matrix (x terms,
    _cons, a dummy for every fixed-effect level but the smallest present) as
    kspill documents it.
    where: a pandas query over the panel's integer codes ("region == 0 and
    year >= 2005"), the same filter as the model's `where`."""
    import pandas as pd
    if panel not in _PANELS:
        with h5py.File(panel) as f:
            g = f["panel"]
            d = {k: g[k][()] for k in ("firm", "year", "industry", "region", "rep", "export",
                                       "density_firm", "density_city", "tradevalue", "newexport")
                 if k in g}
        _PANELS[panel] = pd.DataFrame(d)
    if (panel, where) in _PANELS:
        return _PANELS[panel, where]
    df = _PANELS[panel]
    if where:
        df = df.query(where)
    df = df.dropna().copy()
    df["density_firm*density_city"] = df.density_firm * df.density_city
    ex = df[X].copy()
    ex.insert(len(X), "_cons", 1.0)
    for fe in ("year", "industry"):
        lev = np.sort(df[fe].unique())
        for l in lev[1:]:
            ex[f"{fe}={l}"] = (df[fe].values == l).astype(float)
    _PANELS[panel, where] = df, ex.to_numpy()
    return _PANELS[panel, where]


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def compare(dump, panel, model, link, se, margins=False, where=None):
    """MODEL of the dump against statsmodels on the same sample.  Standard
    errors as docs/fit.md documents them: oim = the inverse information (OLS:
    s^2 (X'X)^-1); robust = the sandwich x N/(N-1) for probit/logit
    (statsmodels HC0 x N/(N-1)) and x N/(N-K) for LPM (OLS HC1); cluster =
    G/(G-1) (N-1)/(N-K) (statsmodels' cluster default) with clusters = firm."""
    import statsmodels.api as sm
    r = read_dump(dump)[model]
    df, ex = design(panel, where)
    y = df.export.values.astype(float)
    n = len(y)
    kw, scale = {}, 1.0
    if se == "cluster":
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": df.firm.values}}
    elif se == "robust":
        kw = {"cov_type": "HC1" if link == "lpm" else "HC0"}
        scale = 1.0 if link == "lpm" else np.sqrt(n / (n - 1.0))
    elif se != "oim":
        raise SystemExit(f"compare: unknown SE kind {se} (oim, robust, cluster)")
    if link == "lpm":
        # one OLS model a sample: its pseudo-inverse is computed once
        if (panel, where) not in _OLS:
            _OLS[panel, where] = sm.OLS(y, ex)
        res = _OLS[panel, where].fit(**kw)
        ll = None
    else:
        # another SE kind of a sample and link fitted before starts from its
        # estimate (the Newton steps still run to statsmodels' tolerance)
        cls = sm.Probit if link == "probit" else sm.Logit
        res = cls(y, ex).fit(method="newton", tol=1e-14, maxiter=100, disp=0,
                             start_params=_STARTS.get((panel, where, link)), **kw)
        _STARTS[panel, where, link] = res.params
        ll = res.llf
    worst = {"coef": 0.0, "se": 0.0}
    ok = True
    for j, name in enumerate(list(X) + ["_cons"]):
        b, s = r["coef"][name]
        worst["coef"] = max(worst["coef"], rel(b, res.params[j]))
        worst["se"] = max(worst["se"], rel(s, res.bse[j] * scale))
    print(f"{model} ({link}, {se}{', where ' + where if where else ''}): N {n}, "
          f"max rel diff coef {worst['coef']:.2e}, se {worst['se']:.2e}", end="")
    ok &= worst["coef"] < 1e-8 and worst["se"] < 1e-6 and int(r["n"]) == n
    if int(r["n"]) != n:
        print(f", N {int(r['n'])} in kspill", end="")
    if ll is not None:
        print(f", loglik {rel(r['loglik'], ll):.2e}", end="")
        ok &= rel(r["loglik"], ll) < 1e-9
    print()
    if margins and link != "lpm":
        # get_margeff takes the delta method through res.cov_params(): the
        # same SE kind, hence the same scale
        me = res.get_margeff(at="overall", method="dydx")
        mm = res.get_margeff(at="mean", method="dydx")
        wm = 0.0
        for j, name in enumerate(X):
            a, s = r["ame_paper"][name]
            wm = max(wm, rel(a, me.margeff[j]), rel(s, me.margeff_se[j] * scale))
            if name in r["mem"]:
                a, s = r["mem"][name]
                wm = max(wm, rel(a, mm.margeff[j]), rel(s, mm.margeff_se[j] * scale))
        print(f"{model}: ame_paper and mem vs get_margeff: max rel diff {wm:.2e}")
        ok &= wm < 1e-6
        # the correct ame through the interaction, by the same formula in numpy
        # (when the model asked for it)
        if not r["ame"]:
            return ok
        from scipy.stats import norm, logistic
        xb = ex @ res.params
        pdf = norm.pdf(xb) if link == "probit" else logistic.pdf(xb)
        b = res.params
        want = {"density_firm": np.mean(pdf * (b[0] + b[2] * df.density_city.values)),
                "density_city": np.mean(pdf * (b[1] + b[2] * df.density_firm.values))}
        wa = max(rel(r["ame"][k][0], v) for k, v in want.items())
        print(f"{model}: ame through the interaction vs numpy: max rel diff {wa:.2e}")
        ok &= wa < 1e-6
    if not ok:
        print(f"CHECK FAILED: {model} disagrees with statsmodels (limits: coef 1e-8, se 1e-6, "
              f"loglik 1e-9, margins 1e-6 relative; N exact)")
    return ok


def spread(dumps, tol=0.2):
    """Every model of the dumps is one replication (an independent sample of
    the same model): for every coefficient, the mean reported SE over the
    replications / the sd of the estimates must be within tol of 1."""
    fits = [m for d in dumps for m in read_dump(d).values()]
    names = list(X) + ["_cons"]
    b = np.array([[m["coef"][x][0] for x in names] for m in fits])
    se = np.array([[m["coef"][x][1] for x in names] for m in fits])
    ratio = se.mean(0) / b.std(0, ddof=1)
    rr = len(fits)
    bad = sum(1 for m in fits if not m.get("converged", 1))
    print(f"{rr} replications, N {sorted(set(int(m['n']) for m in fits))}: "
          f"mean reported SE / sd of estimates (sd of the ratio ~{1 / np.sqrt(2 * (rr - 1)):.3f}):")
    for x, q in zip(names, ratio):
        print(f"  {x}: {q:.3f}")
    if bad:
        print(f"{bad} replication(s) did not converge")
    return rr >= 2 and not bad and bool(np.all(np.abs(ratio - 1) < tol))


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
                 int(opts.get("--firms", 5000)), opts.get("--link", "probit"),
                 int(opts["--reps"]) if "--reps" in opts else None)
        return 0
    if a[0] == "compare":
        # DUMP PANEL, then MODEL LINK SE [--margins] [--where EXPR] ...;
        # --dump D / --panel P switch the dump and panel of the models after them
        dump, panel, todo, i = a[1], a[2], [], 3
        while i < len(a):
            if a[i] == "--dump":
                dump, i = a[i + 1], i + 2
            elif a[i] == "--panel":
                panel, i = a[i + 1], i + 2
            elif a[i] == "--margins":
                todo[-1]["margins"], i = True, i + 1
            elif a[i] == "--where":
                todo[-1]["where"], i = a[i + 1], i + 2
            else:
                todo.append(dict(dump=dump, panel=panel, model=a[i], link=a[i + 1], se=a[i + 2]))
                i += 3
        return 0 if all([compare(**t) for t in todo]) else 1
    if a[0] == "spread":
        return 0 if spread(a[1:]) else 1
    if a[0] == "recover":
        return 0 if recover(a[1], a[2]) else 1
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
