#!/usr/bin/python3
"""An independent implementation of ingest (method.md section 1) in Python's
csv module and pandas, checked against records.h5.

usage: ingest_reference.py DATA_DIR JOB.ini RECORDS.h5 CSV...

It shares no code with kspill: it reads the job file with configparser, the
reference tables from data/, and the CSV files with the csv module, applies
the documented rules (docs/input.md, docs/reference-data.md) and compares every
flow (firm, year, HS4, flow, value) and every firm-year (city, ownership,
trader flag) with records.h5.  Prints 'CHECK FAILED' and exits 1 on a mismatch.
"""
import configparser
import csv
import sys
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_UP, InvalidOperation

import h5py
import numpy as np
import pandas as pd

OWNERSHIP = ["", "国有企业", "集体企业", "私营企业", "个体工商户", "中外合资企业", "中外合作企业", "外商独资企业"]


def fail(msg):
    print("CHECK FAILED: " + msg)
    sys.exit(1)


def load_job(path):
    cp = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    cp.optionxform = str
    cp.read(path, encoding="utf-8")
    years = cp.get("job", "years", fallback="2002-2016").split("-")
    job = {
        "first": int(years[0]), "last": int(years[-1]),
        "cols": {k: v.strip() for k, v in cp.items("columns")},
        "traders": [w.strip() for w in cp.get("cleaning", "trader_keywords").split(",") if w.strip()],
        "processing": [w.strip() for w in cp.get("cleaning", "processing_keywords").split(",") if w.strip()],
        "vintage": {},
        "keep_partners": any(cp.get(sec, "partners", fallback="").strip()
                             for sec in cp.sections() if sec.startswith("density.")),
    }
    for name in ("hs2002", "hs2007", "hs2012"):
        a, b = cp.get("harmonise", name + "_years").split("-")
        for y in range(int(a), int(b) + 1):
            job["vintage"][y] = name
    return job


def load_concordances(data):
    conc = {}
    for name, fname in (("hs2002", "hs2002_to_hs2007.csv"), ("hs2012", "hs2012_to_hs2007.csv")):
        t = pd.read_csv(f"{data}/hs/{fname}", dtype=str)
        m = defaultdict(set)
        for a, b in zip(t.from_hs6, t.to_hs6):
            m[int(a)].add(int(b[:4]))
        conc[name] = {k: sorted(v) for k, v in m.items()}
    t = pd.read_csv(f"{data}/hs/hs2007_hs6.csv", dtype=str)
    conc["hs2007"] = {int(c): [int(c[:4])] for c in t.hs6}
    return conc


def load_cities(data):
    t = pd.read_csv(f"{data}/geo/prefectures.csv", dtype=str)
    return set(int(c) for c in t.code4)


def city_of(code, cities):
    if not code.isdigit() or len(code) not in (4, 6):
        return "bad"
    c4 = int(code[:4])
    if c4 // 100 in (11, 12, 31, 50):
        return (c4 // 100) * 100
    return c4 if c4 in cities else None


def micro(text):
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return int((d * 1000000).to_integral_value(rounding=ROUND_HALF_UP))


def main():
    data, job_path, records = sys.argv[1:4]
    files = sys.argv[4:]
    job = load_job(job_path)
    conc = load_concordances(data)
    cities = load_cities(data)
    flows = defaultdict(int)               # (firm, year, hs4, flow) -> micro
    partner_imports = defaultdict(int)     # (firm, year, hs4, partner) -> micro
    city_value = defaultdict(int)          # (firm, year, city) -> micro
    own_value = defaultdict(int)           # (firm, year, ownership) -> micro
    trader_fy = defaultdict(int)
    rows = 0
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            col = {k: header.index(v) for k, v in job["cols"].items() if v in header}
            for rec in reader:
                rows += 1
                if len(rec) != len(header):
                    continue
                g = lambda k: rec[col[k]].strip()
                y = g("year")
                if not y.isdigit() or not job["first"] <= int(y) <= job["last"]:
                    continue
                y = int(y)
                firm, flow, hs, val = g("firm_id"), g("flow"), g("hs_code"), g("value_usd")
                if not firm or flow not in ("进口", "出口") or not hs.isdigit() or len(hs) not in (6, 8):
                    continue
                v = micro(val)
                if v is None or v < 0:
                    continue
                city = city_of(g("city_code"), cities)
                if city == "bad":
                    continue
                own = OWNERSHIP.index(g("ownership")) if g("ownership") in OWNERSHIP[1:] else 0
                is_trader = any(k in g("firm_name") for k in job["traders"])
                if city is not None:
                    city_value[(firm, y, city)] += v
                own_value[(firm, y, own)] += v
                trader_fy[(firm, y)] += int(is_trader)
                if is_trader or any(k in g("trade_mode") for k in job["processing"]) or city is None:
                    continue
                targets = conc[job["vintage"][y]].get(int(hs[:6]), [])
                n = len(targets)
                partner = g("partner_country") if "partner_country" in col else ""
                for t, hs4 in enumerate(targets):
                    share = v // n + (1 if t < v % n else 0)
                    flows[(firm, y, hs4, 1 if flow == "出口" else 0)] += share
                    if flow == "进口" and partner and job["keep_partners"]:
                        partner_imports[(firm, y, hs4, partner)] += share
    with h5py.File(records, "r") as f:
        ids = [s.decode() for s in f["firms/id"][:]]
        got = {}
        for y in range(job["first"], job["last"] + 1):
            g = f[f"flows/{y}"]
            for firm, hs4, fl, val in zip(g["firm"][:], g["hs4"][:], g["flow"][:], g["value_usd"][:]):
                got[(ids[firm], y, int(hs4), int(fl))] = float(val)
        want = {k: v / 1e6 for k, v in flows.items()}
        if set(got) != set(want):
            fail(f"flow keys differ: {len(set(got) - set(want))} only in records.h5, "
                 f"{len(set(want) - set(got))} only in the reference, e.g. "
                 f"{sorted(set(got) ^ set(want))[:3]}")
        worst = max(abs(got[k] - want[k]) for k in want)
        if worst != 0.0:
            fail(f"flow values differ, max |diff| = {worst}")
        print(f"ok: {len(want)} flows of {rows} rows equal an independent csv/pandas ingest (max |diff| 0)")
        fy = f["firm_years"]
        best_city, best_own = {}, {}
        for (firm, y, c), v in city_value.items():
            k = (firm, y)
            if k not in best_city or v > best_city[k][1] or (v == best_city[k][1] and c < best_city[k][0]):
                best_city[k] = (c, v)
        for (firm, y, o), v in own_value.items():
            k = (firm, y)
            if k not in best_own or v > best_own[k][1] or (v == best_own[k][1] and o < best_own[k][0]):
                best_own[k] = (o, v)
        n_checked = 0
        for firm, y, c, o, t in zip(fy["firm"][:], fy["year"][:], fy["city"][:], fy["ownership"][:], fy["trader"][:]):
            k = (ids[firm], int(y))
            if k not in trader_fy:
                fail(f"firm-year {k} in records.h5 but not in the reference")
            if int(c) != best_city.get(k, (-1, 0))[0] or int(o) != best_own[k][0] or int(t) != int(trader_fy[k] > 0):
                fail(f"firm-year {k}: city/ownership/trader {int(c)}/{int(o)}/{int(t)}, reference "
                     f"{best_city.get(k, (-1, 0))[0]}/{best_own[k][0]}/{int(trader_fy[k] > 0)}")
            n_checked += 1
        if n_checked != len(trader_fy):
            fail(f"{len(trader_fy)} firm-years in the reference, {n_checked} in records.h5")
        print(f"ok: {n_checked} firm-years: city, ownership and trader flag equal the reference")
        names = [s.decode() for s in f["partners/name"][:]]
        if names != sorted(set(p for (_, _, _, p) in partner_imports), key=lambda s: s.encode()):
            fail(f"/partners/name {names[:5]}... differs from the partners of the input")
        got = {}
        for y in range(job["first"], job["last"] + 1):
            g = f[f"partner_imports/{y}"]
            for firm, hs4, p, val in zip(g["firm"][:], g["hs4"][:], g["partner"][:], g["value_usd"][:]):
                got[(ids[firm], y, int(hs4), names[p])] = float(val)
        want = {k: v / 1e6 for k, v in partner_imports.items()}
        if got != want:
            fail(f"partner imports differ: {len(set(got) ^ set(want))} keys differ")
        print(f"ok: {len(want)} imports by partner country equal the reference ({len(names)} partners)")


if __name__ == "__main__":
    main()
