#!/usr/bin/env python3
"""An independent computation of panel.h5 from records.h5 and relatedness.h5
with numpy (dense matrices: meant for the tiny preset), compared column by
column with kspill's panel.h5: integers exactly, reals to 1e-12, NaN where
NaN.  The settings (threshold, newexport, first_year, market cuts and groups,
density declarations) are read from panel.h5's root attributes; the test
script checks those against its job.

    panel_reference.py WORKDIR            compare WORKDIR/panel.h5
    panel_reference.py --make-relatedness WORKDIR
        write WORKDIR/relatedness.h5 (phi = C / max(k_i, k_j) over firms'
        exports, diagonal 1) for use before the relatedness stage exists
"""
import sys

import h5py
import numpy as np

TOL = 1e-12
TIE = 1e-12  # kspill keeps density_firm > threshold + 1e-12 (ties fall out)
SOE = 1


def s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def load_records(path):
    with h5py.File(path, "r") as f:
        rec = {
            "hs4": f["products/hs4"][:], "hs2": f["products/hs2"][:].astype(int),
            "city_code": f["cities/code"][:], "city_province": f["cities/province"][:],
            "city_region": f["cities/region"][:], "ids": f["firms/id"][:],
            "first": int(f.attrs["first_year"]), "last": int(f.attrs["last_year"]),
        }
        fy = {k: f["firm_years"][k][:] for k in f["firm_years"]}
        keep = fy["rows_kept"] > 0
        rec["fy"] = {k: v[keep] for k, v in fy.items()}
        rec["flows"] = {}
        for y in range(rec["first"], rec["last"] + 1):
            g = f["flows/%d" % y]
            rec["flows"][y] = {k: g[k][:] for k in ("firm", "hs4", "flow", "value_usd")}
        rec["partners"] = [s(x) for x in f["partners/name"][:]] if "partners" in f else []
        rec["by_partner"] = {}
        if rec["partners"]:
            for y in range(rec["first"], rec["last"] + 1):
                g = f["partner_imports/%d" % y]
                rec["by_partner"][y] = {k: g[k][:] for k in ("firm", "hs4", "partner")}
    return rec


def make_relatedness(workdir):
    rec = load_records(workdir + "/records.h5")
    P = len(rec["hs4"])
    pos = {int(h): i for i, h in enumerate(rec["hs4"])}
    with h5py.File(workdir + "/relatedness.h5", "w") as out:
        out["products/hs4"] = rec["hs4"]
        for y, fl in rec["flows"].items():
            ex = fl["flow"] == 1
            firms = np.unique(fl["firm"][ex])
            M = np.zeros((len(firms), P))
            M[np.searchsorted(firms, fl["firm"][ex]), [pos[int(h)] for h in fl["hs4"][ex]]] = 1
            C = M.T @ M
            k = np.diag(C).copy()
            mx = np.maximum.outer(k, k)
            phi = np.where((k[:, None] > 0) & (k[None, :] > 0), C / np.where(mx > 0, mx, 1), 0.0)
            np.fill_diagonal(phi, 1.0)
            out["phi/%d" % y] = phi


def parse_spec(text):
    d = dict(kv.strip().split("=") for kv in text.split(";"))
    basket = d["basket"]
    if "partners" in d:  # imports from these partners only: a basket of its own
        basket = "imports:" + d["partners"]
    return {"basket": basket, "scope": d["scope"], "loo": d["leave_one_out"] == "yes",
            "lag": int(d["lag"])}


def quantile(v, q):
    return np.quantile(v, q) if len(v) else np.nan


class Year:
    """Firm-years of one year (rows_kept > 0) and their baskets as dense 0/1 matrices."""

    def __init__(self, rec, y, filters=()):
        fy = rec["fy"]
        sel = fy["year"] == y
        self.firm = fy["firm"][sel].astype(np.int64)
        order = np.argsort(self.firm, kind="stable")
        self.firm = self.firm[order]
        self.city_code = fy["city"][sel][order]
        self.value = fy["value_kept_usd"][sel][order]
        self.own = fy["ownership"][sel][order]
        self.city = np.array([np.searchsorted(rec["city_code"], c) if c >= 0 else -1
                              for c in self.city_code], dtype=int)
        P = len(rec["hs4"])
        n = len(self.firm)
        fl = rec["flows"][y]
        row = np.searchsorted(self.firm, fl["firm"])
        col = np.searchsorted(rec["hs4"], fl["hs4"])
        self.M = {"imports": np.zeros((n, P)), "exports": np.zeros((n, P))}
        for b, code in (("imports", 0), ("exports", 1)):
            m = fl["flow"] == code
            self.M[b][row[m], col[m]] = 1
        for b in filters:  # "imports:US,JP": imports from these partners
            wanted = set(b.split(":", 1)[1].split(","))
            bp = rec["by_partner"][y]
            keep = np.array([rec["partners"][p] in wanted for p in bp["partner"]], dtype=bool)
            self.M[b] = np.zeros((n, P))
            self.M[b][np.searchsorted(self.firm, bp["firm"][keep]),
                      np.searchsorted(rec["hs4"], bp["hs4"][keep])] = 1
        self.active = np.zeros((n, 128), dtype=bool)
        self.active[row, rec["hs2"][col]] = True
        self.index = {int(f): k for k, f in enumerate(self.firm)}


def group_of(rec, scope, city):
    if city < 0:
        return None
    if scope in ("city", "city_hs2"):
        return city
    if scope == "province":
        return int(rec["city_province"][city])
    return 0


def shared_density(rec, spec, cur, basis, phi, rowsum):
    """density_<spec> of every firm-year of cur and product: [n][P]."""
    n, P = len(cur.firm), len(rec["hs4"])
    out = np.full((n, P), np.nan)
    if basis is None:
        return out
    M = basis.M[spec["basket"]]
    rs = np.where(rowsum > 0, rowsum, 1)
    # the firm's own row of the basket year, and its group then
    own = np.zeros((n, P))
    own_g = [None] * n
    own_active = np.zeros((n, 128), dtype=bool)
    for k, f in enumerate(cur.firm):
        q = basis.index.get(int(f))
        if q is not None:
            own[k] = M[q]
            own_g[k] = group_of(rec, spec["scope"], basis.city[q])
            own_active[k] = basis.active[q]
    bgroups = [group_of(rec, spec["scope"], c) for c in basis.city]
    for k in range(n):
        g = group_of(rec, spec["scope"], cur.city[k])
        if g is None:
            continue
        member = own_g[k] == g
        if spec["scope"] != "city_hs2":
            members = np.array([bg == g for bg in bgroups], dtype=bool)
            cnt = M[members].sum(0)
            if spec["loo"] and member:
                cnt = cnt - own[k]
            x = (cnt > 0).astype(float)
            out[k] = np.where(rowsum > 0, (phi @ x) / rs, 0.0)
        else:
            for h in np.unique(rec["hs2"]):
                idx = np.nonzero(rec["hs2"] == h)[0]
                members = np.array([bg == g for bg in bgroups], dtype=bool) & basis.active[:, h]
                cnt = M[members].sum(0)
                if spec["loo"] and member and own_active[k, h]:
                    cnt = cnt - own[k]
                x = (cnt > 0).astype(float)
                out[k, idx] = np.where(rowsum[idx] > 0, (phi[idx] @ x) / rs[idx], 0.0)
    return out


def firm_density(rec, spec, cur, basis, phi, rowsum):
    n, P = len(cur.firm), len(rec["hs4"])
    if basis is None:
        return np.full((n, P), np.nan)
    X = np.zeros((n, P))
    for k, f in enumerate(cur.firm):
        q = basis.index.get(int(f))
        if q is not None:
            X[k] = basis.M[spec["basket"]][q]
    rs = np.where(rowsum > 0, rowsum, 1)
    return np.where(rowsum[None, :] > 0, (X @ phi.T) / rs[None, :], 0.0)


def city_table(rec, spec, basis, phi, rowsum):
    C, P = len(rec["city_code"]), len(rec["hs4"])
    if basis is None:
        return np.full((C, P), np.nan)
    M = basis.M[spec["basket"]]
    B = np.zeros((C, P))
    for c in range(C):
        B[c] = M[basis.city == c].sum(0) > 0
    rs = np.where(rowsum > 0, rowsum, 1)
    return np.where(rowsum[None, :] > 0, (B @ phi.T) / rs[None, :], 0.0)


def market_groups(rec, years, cut_lo, cut_hi, pooled):
    fy = rec["fy"]
    C = len(rec["city_code"])
    micro = np.rint(fy["value_kept_usd"] * 1e6).astype(np.int64)
    tot = np.zeros((len(years), C), dtype=np.int64)
    non = np.zeros((len(years), C), dtype=np.int64)
    for r in range(len(micro)):
        if fy["city"][r] < 0:
            continue
        y = years.index(int(fy["year"][r]))
        c = np.searchsorted(rec["city_code"], fy["city"][r])
        tot[y, c] += micro[r]
        if fy["ownership"][r] != SOE:
            non[y, c] += micro[r]
    if pooled:
        tot[:] = tot.sum(0)
        non[:] = non.sum(0)
    group = np.full((len(years), C), -1)
    cuts = np.full((len(years), 2), np.nan)
    for y in range(len(years)):
        has = tot[y] > 0
        share = non[y][has].astype(float) / tot[y][has].astype(float)
        if len(share):
            lo, hi = np.percentile(share, [cut_lo, cut_hi])
            cuts[y] = lo, hi
            g = np.where(share < lo, 0, np.where(share < hi, 1, 2))
            group[y][has] = g
    return group, cuts


def expected(workdir, attrs):
    rec = load_records(workdir + "/records.h5")
    years = list(range(rec["first"], rec["last"] + 1))
    P = len(rec["hs4"])
    thr = float(attrs["threshold"])
    transform = s(attrs["newexport"])
    keep_first = s(attrs["first_year_rows"]) == "keep"
    specs = {}
    for key in attrs:
        if key.startswith("density_"):
            specs[key[len("density_"):]] = parse_spec(s(attrs[key]))
    market, mcuts = market_groups(rec, years, float(attrs["market_cut_low"]),
                                  float(attrs["market_cut_high"]), s(attrs["market_groups"]) == "pooled")
    history = {}
    cols = {k: [] for k in ("firm", "year", "product", "industry", "city", "province", "region",
                            "market", "size", "export", "tradevalue", "newexport")}
    for name in specs:
        cols["density_" + name] = []
    tables, size_cuts = {}, {}
    prev = None
    with h5py.File(workdir + "/relatedness.h5", "r") as rel:
        for yi, y in enumerate(years):
            cur = Year(rec, y, {sp["basket"] for sp in specs.values() if ":" in sp["basket"]})
            phi = rel["phi/%d" % y][:]
            rowsum = phi.sum(1)
            dens = {}
            for name, sp in specs.items():
                basis = cur if sp["lag"] == 0 else prev
                f = firm_density if sp["scope"] == "firm" else shared_density
                dens[name] = f(rec, sp, cur, basis, phi, rowsum)
            if "city" in specs and specs["city"]["scope"] == "city":
                tables[y] = city_table(rec, specs["city"], cur if specs["city"]["lag"] == 0 else prev, phi, rowsum)
            tv = np.where(cur.value > 0, np.log(np.where(cur.value > 0, cur.value, 1)), np.nan)
            fin = tv[np.isfinite(tv)]
            q1, q2 = quantile(fin, 1 / 3), quantile(fin, 2 / 3)
            size_cuts[y] = (q1, q2)
            size = np.where(np.isnan(tv), -1, np.where(tv <= q1, 0, np.where(tv <= q2, 1, 2)))
            newx = np.full(len(cur.firm), np.nan)
            for k, f in enumerate(cur.firm):
                ex = set(np.nonzero(cur.M["exports"][k])[0])
                h = history.setdefault(int(f), set())
                if yi > 0:
                    n = len(ex - h)
                    newx[k] = {"log1p": np.log1p(n), "count": float(n),
                               "log": np.log(n) if n > 0 else np.nan}[transform]
            D = dens["firm"]
            sel = np.ones_like(D, dtype=bool) if thr <= 0 else D > thr + TIE
            if yi == 0 and not keep_first:
                sel[:] = False
            ks, iis = np.nonzero(sel)  # row-major: (firm, product) order
            c = cur.city[ks]
            cols["firm"].append(cur.firm[ks])
            cols["year"].append(np.full(len(ks), y))
            cols["product"].append(rec["hs4"][iis])
            cols["industry"].append(rec["hs2"][iis])
            cols["city"].append(np.where(c >= 0, rec["city_code"][c], -1))
            cols["province"].append(np.where(c >= 0, rec["city_province"][c], -1))
            cols["region"].append(np.where(c >= 0, rec["city_region"][c], -1))
            cols["market"].append(np.where(c >= 0, market[yi][c], -1))
            cols["size"].append(size[ks])
            cols["export"].append(cur.M["exports"][ks, iis].astype(int))
            cols["tradevalue"].append(tv[ks])
            cols["newexport"].append(newx[ks])
            for name in specs:
                cols["density_" + name].append(dens[name][ks, iis])
            for k, f in enumerate(cur.firm):
                history[int(f)] |= set(np.nonzero(cur.M["exports"][k])[0])
            prev = cur
    out = {k: np.concatenate(v) if v else np.array([]) for k, v in cols.items()}
    return rec, out, tables, mcuts, size_cuts


def same(name, got, want):
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    if got.dtype.kind == "f" or want.dtype.kind == "f":
        g, w = got.astype(float), want.astype(float)
        if not np.array_equal(np.isnan(g), np.isnan(w)):
            k = np.nonzero(np.isnan(g) != np.isnan(w))[0][0]
            return "%s: NaN differs at %d: %r vs %r" % (name, k, g.flat[k], w.flat[k])
        ok = ~np.isnan(w)
        d = np.abs(g[ok] - w[ok])
        if len(d) and d.max() > TOL:
            k = np.argmax(d)
            return "%s: max abs diff %.3g (got %r, expected %r)" % (name, d.max(), g[ok][k], w[ok][k])
        return None
    if not np.array_equal(got, want):
        k = np.nonzero(got != want)[0][0]
        return "%s: differs at %d: %r vs %r" % (name, k, got[k], want[k])
    return None


def compare(workdir):
    with h5py.File(workdir + "/panel.h5", "r") as f:
        attrs = dict(f.attrs)
        rec, want, tables, mcuts, scuts = expected(workdir, attrs)
        problems = []
        n = len(want["firm"])
        if int(attrs["rows"]) != n:
            problems.append("rows attribute %d, expected %d" % (int(attrs["rows"]), n))
        for name, col in want.items():
            if name not in f["panel"]:
                problems.append("missing /panel/%s" % name)
                continue
            p = same("/panel/" + name, f["panel"][name][:], col)
            if p:
                problems.append(p)
        extra = set(f["panel"]) - set(want)
        if extra:
            problems.append("unexpected columns %s" % sorted(extra))
        if not np.array_equal(f["firms/id"][:], rec["ids"]):
            problems.append("/firms/id differs from records.h5")
        for y, t in tables.items():
            p = same("/density_city/%d" % y, f["density_city/%d" % y][:], t)
            if p:
                problems.append(p)
        g = f["groups"]
        years = list(g["year"][:])
        p = same("/groups/market_cut_low", g["market_cut_low"][:], mcuts[:, 0]) or \
            same("/groups/market_cut_high", g["market_cut_high"][:], mcuts[:, 1]) or \
            same("/groups/size_cut_low", g["size_cut_low"][:], [scuts[y][0] for y in years]) or \
            same("/groups/size_cut_high", g["size_cut_high"][:], [scuts[y][1] for y in years])
        if p:
            problems.append(p)
    for p in problems:
        print("MISMATCH", p)
    print("panel_reference: %d rows, %d columns, %d city tables: %s" %
          (n, len(want), len(tables), "differences" if problems else "agree to %g" % TOL))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-relatedness":
        make_relatedness(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(compare(sys.argv[1]))
