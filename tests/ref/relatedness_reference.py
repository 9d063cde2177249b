#!/usr/bin/python3
"""Independent re-computation of relatedness.h5 from records.h5 (numpy + h5py).

usage: relatedness_reference.py RECORDS.h5 RELATEDNESS.h5 [--window W]
           [--diagonal one|zero] [--measure coexport|rca] [--scope city|province]
           [--tolerance T]

Nothing of kspill is reused: the export incidence matrix M (units x products)
is built with numpy from the /flows and /firm_years columns, the counts are
C = M^T M and k = column sums of M, and phi = C / max(k_i, k_j) (method.md
section 2).  For --measure rca the units are regions (cities, or provinces):
X[c,i] = export micro-dollars of the region's firm-years, and M[c,i] = 1 when
X[c,i] * X[.,.] >= X[c,.] * X[.,i] with X[c,i] > 0 (compared on Python
integers, so exactly).  Every year of the file is compared: counts exactly,
phi to the tolerance (default 1e-12; the output says whether it is exact).
Prints one line per year; exits 1 with "CHECK FAILED" on any difference.
"""
import argparse
import sys

import h5py
import numpy as np


def fail(msg):
    print(f"CHECK FAILED: {msg}")
    sys.exit(1)


def attr(f, name):
    v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def read_flows(rec, year):
    g = rec[f"flows/{year}"]
    flow = g["flow"][:]
    exp = flow == 1
    return g["firm"][:][exp].astype(np.int64), g["hs4"][:][exp], g["value_usd"][:][exp]


def firm_incidence(rec, hs4, years):
    """M[firm, product] = 1 when the firm exports the product in any of years."""
    firms, prods = [], []
    for y in years:
        f, h, _ = read_flows(rec, y)
        firms.append(f)
        prods.append(np.searchsorted(hs4, h))
    firms, prods = np.concatenate(firms), np.concatenate(prods)
    units = np.unique(firms)
    M = np.zeros((len(units), len(hs4)))
    M[np.searchsorted(units, firms), prods] = 1.0
    return M


def region_incidence(rec, hs4, years, scope):
    """M[region, product] = 1 when the region's RCA in the product is >= 1."""
    codes = rec["cities/code"][:]
    region_of_city = codes if scope == "city" else rec["cities/province"][:]
    regions = np.unique(region_of_city)
    fy_firm = rec["firm_years/firm"][:].astype(np.int64)
    fy_year = rec["firm_years/year"][:].astype(np.int64)
    fy_city = rec["firm_years/city"][:]
    X = np.zeros((len(regions), len(hs4)), dtype=np.int64)
    for y in years:
        f, h, v = read_flows(rec, y)
        sel = fy_year == y
        city_of_firm = dict(zip(fy_firm[sel].tolist(), fy_city[sel].tolist()))
        city = np.array([city_of_firm.get(x, -1) for x in f.tolist()], dtype=np.int64)
        known = city >= 0
        reg = np.searchsorted(regions, region_of_city[np.searchsorted(codes, city[known])])
        micro = np.rint(v[known] * 1e6).astype(np.int64)
        np.add.at(X, (reg, np.searchsorted(hs4, h[known])), micro)
    Xo = X.astype(object)
    total = int(X.sum(dtype=object))
    rows = Xo.sum(axis=1)
    cols = Xo.sum(axis=0)
    member = (X > 0) & (Xo * total >= np.outer(rows, cols))
    M = member.astype(np.float64)
    return M[M.sum(axis=1) > 0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("relatedness")
    ap.add_argument("--window", type=int, default=1)
    ap.add_argument("--diagonal", choices=["one", "zero"], default="one")
    ap.add_argument("--measure", choices=["coexport", "rca"], default="coexport")
    ap.add_argument("--scope", choices=["city", "province"], default="city")
    ap.add_argument("--tolerance", type=float, default=1e-12)
    a = ap.parse_args()
    rec = h5py.File(a.records, "r")
    rel = h5py.File(a.relatedness, "r")
    want = {"kspill_format": "relatedness", "measure": a.measure, "diagonal": a.diagonal,
            "window": a.window, "rca_scope": a.scope}
    for k, v in want.items():
        if attr(rel, k) != v:
            fail(f"attribute {k} is {attr(rel, k)!r}, expected {v!r}")
    hs4 = rec["products/hs4"][:]
    if not np.array_equal(rel["products/hs4"][:], hs4):
        fail("/products/hs4 differs from records.h5")
    first, last = int(attr(rel, "first_year")), int(attr(rel, "last_year"))
    unit = "firms" if a.measure == "coexport" else ("cities" if a.scope == "city" else "provinces")
    worst = 0.0
    for year in range(first, last + 1):
        years = range(max(first, year - a.window + 1), year + 1)
        if a.measure == "coexport":
            M = firm_incidence(rec, hs4, years)
        else:
            M = region_incidence(rec, hs4, years, a.scope)
        C = np.rint(M.T @ M).astype(np.int64)  # exact: integers far below 2^53
        k = M.sum(axis=0).astype(np.int64)
        m = np.maximum.outer(k, k)
        phi = np.zeros(C.shape)
        nz = (k[:, None] > 0) & (k[None, :] > 0)
        phi[nz] = C[nz] / m[nz]
        if a.diagonal == "zero":
            np.fill_diagonal(phi, 0.0)
        y = str(year)
        got_C, got_k, got_phi = rel["cooccurrence"][y][:], rel["ubiquity"][y][:], rel["phi"][y][:]
        if not np.array_equal(got_C, C):
            fail(f"{year}: cooccurrence differs in {(got_C != C).sum()} cells")
        if not np.array_equal(got_k, k):
            fail(f"{year}: ubiquity differs in {(got_k != k).sum()} products")
        for name in ("phi", "cooccurrence", "ubiquity"):
            d = rel[name][y]
            if int(d.attrs["n_units"]) != len(M) or attr(d, "unit") != unit:
                fail(f"{year}: /{name}/{y} n_units {int(d.attrs['n_units'])} {attr(d, 'unit')}, "
                     f"expected {len(M)} {unit}")
        diff = float(np.abs(got_phi - phi).max()) if phi.size else 0.0
        worst = max(worst, diff)
        exact = np.array_equal(got_phi.view(np.int64), phi.view(np.int64))
        print(f"{year}: {len(M)} {unit}, {int((C > 0).sum())} non-zero counts, "
              f"max |phi diff| {diff:.3g}{' (bit-identical)' if exact else ''}")
        if diff > a.tolerance:
            fail(f"{year}: phi differs by {diff:.3g} > {a.tolerance}")
    print(f"relatedness.h5 matches the numpy reference ({a.measure}, diagonal {a.diagonal}, "
          f"window {a.window}); max |phi diff| {worst:.3g}")


if __name__ == "__main__":
    main()
