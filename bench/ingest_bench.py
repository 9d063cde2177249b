#!/usr/bin/python3
"""Ingest benchmark: the same customs CSV files read, cleaned and aggregated by
kspill (1..N MPI ranks) and by pandas, in one command, with a check of the
result beside each time.

usage: ingest_bench.py KSPILL DATA_DIR WORK_DIR RANKS CSV...

pandas does the same work as kspill ingest: read_csv, the paper's cleaning
rules (traders, processing trade, unknown cities, unmapped codes), HS
harmonisation with an equal split across headings, and a groupby-sum per
firm, year, heading and flow.  The check compares the number of flows and the
total value per year of both; 'max rel diff' must be ~1e-15.
"""
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd

COLS = ["年份", "企业编码", "企业名称", "进口或出口", "商品编码", "金额", "贸易方式", "企业性质", "城市代码", "贸易国", "月份"]
TRADERS = "贸易|进出口|出口|进口|外贸|商贸|边贸|物流"


def concordance(data):
    """hs6 (int) -> list of HS2007 headings, per vintage, as a DataFrame to merge."""
    frames = []
    for vintage, fname in (("hs2002", "hs2002_to_hs2007.csv"), ("hs2012", "hs2012_to_hs2007.csv")):
        t = pd.read_csv(f"{data}/hs/{fname}", dtype=str)
        t = pd.DataFrame({"hs6": t.from_hs6.astype(int), "hs4": t.to_hs6.str[:4].astype(int)}).drop_duplicates()
        t["vintage"] = vintage
        frames.append(t)
    t = pd.read_csv(f"{data}/hs/hs2007_hs6.csv", dtype=str)
    frames.append(pd.DataFrame({"hs6": t.hs6.astype(int), "hs4": t.hs6.str[:4].astype(int), "vintage": "hs2007"}))
    c = pd.concat(frames, ignore_index=True)
    c["n"] = c.groupby(["vintage", "hs6"]).hs4.transform("size")
    return c


def pandas_ingest(files, data):
    cities = set(pd.read_csv(f"{data}/geo/prefectures.csv", dtype=str).code4.astype(int))
    conc = concordance(data)
    t0 = time.perf_counter()
    df = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False, on_bad_lines="skip") for f in files],
                   ignore_index=True)
    t_read = time.perf_counter() - t0
    year = pd.to_numeric(df["年份"], errors="coerce")
    value = pd.to_numeric(df["金额"], errors="coerce")
    code = df["商品编码"]
    city = df["城市代码"]
    ok = (year.between(2002, 2016) & value.ge(0) & df["企业编码"].ne("") &
          df["进口或出口"].isin(["进口", "出口"]) & code.str.fullmatch(r"\d{6}|\d{8}") &
          city.str.fullmatch(r"\d{4}|\d{6}") & df[COLS[-1]].ne(""))  # short rows: wrong field count
    df = df[ok].assign(year=year[ok].astype(int), value=value[ok])
    df = df[~df["企业名称"].str.contains(TRADERS) & ~df["贸易方式"].str.contains("加工")]
    c4 = df["城市代码"].str[:4].astype(int)
    c4 = c4.where(~(c4 // 100).isin([11, 12, 31, 50]), (c4 // 100) * 100)
    df = df[c4.isin(cities)]
    df = df.assign(hs6=df["商品编码"].str[:6].astype(int),
                   vintage=np.select([df.year <= 2006, df.year <= 2011], ["hs2002", "hs2007"], "hs2012"),
                   flow=(df["进口或出口"] == "出口").astype(int))
    df = df.merge(conc, on=["vintage", "hs6"], how="inner")
    df["value"] = df.value / df.n
    flows = df.groupby(["企业编码", "year", "hs4", "flow"], sort=False).value.sum().reset_index()
    return time.perf_counter() - t0, t_read, flows


def per_year(records):
    with h5py.File(records, "r") as f:
        return {int(y): (len(f[f"flows/{y}/firm"]), float(f[f"flows/{y}/value_usd"][:].sum()))
                for y in f["flows"]}


def main():
    kspill, data, work, max_ranks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    files = sorted(sys.argv[5:])
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    job = os.path.join(work, "bench.ini")
    with open(job, "w", encoding="utf-8") as j:
        j.write("[job]\nyears = 2002-2016\n[columns]\n")
        for field, col in zip(["year", "firm_id", "firm_name", "flow", "hs_code", "value_usd",
                               "trade_mode", "ownership", "city_code", "partner_country", "month"], COLS):
            j.write(f"{field} = {col}\n")
    rows = sum(1 for f in files for _ in open(f, "rb")) - len(files)
    print(f"input: {len(files)} files, {mb:.1f} MB, {rows} rows (lines)")

    t_pandas, t_read, flows = pandas_ingest(files, data)
    pandas_rows = flows.groupby("year").size().to_dict()
    pandas_value = flows.groupby("year").value.sum().to_dict()

    results = []
    for ranks in range(1, max_ranks + 1):
        out = os.path.join(work, f"kspill{ranks}")
        best = min(kspill_ingest(kspill, ranks, job, out, files) for _ in range(3))
        got = per_year(os.path.join(out, "records.h5"))
        dflows = max(abs(got[y][0] - pandas_rows.get(y, 0)) for y in got)
        drel = max(abs(got[y][1] - pandas_value.get(y, 0.0)) / max(got[y][1], 1.0) for y in got)
        results.append((ranks, best, dflows, drel))

    def line(name, cores, t, check):
        print(f"| {name:<32} | {cores:>5} | {t:8.2f} | {mb / t:8.1f} | {mb / t / cores:8.1f} | "
              f"{rows / t / cores / 1e6:8.2f} | {check} |")

    print("\n| tool | cores | wall s | MB/s | MB/s/core | Mrows/s/core | check |")
    print("|---|---:|---:|---:|---:|---:|---|")
    line("pandas read_csv only", 1, t_read, "-")
    line("pandas read+clean+aggregate", 1, t_pandas, f"{len(flows)} flows")
    for ranks, t, dflows, drel in results:
        line(f"kspill ingest, {ranks} rank(s)", ranks, t,
             f"flows diff {dflows}, value max rel diff {drel:.1e}")
    print()
    for ranks, t, _, _ in results:
        print(f"kspill {ranks} rank(s) vs pandas read+clean+aggregate, per core: "
              f"{(t_pandas / t) / ranks:.1f}x   (vs read_csv alone: {(t_read / t) / ranks:.1f}x)")
    if any(d != 0 or r > 1e-9 for _, _, d, r in results):
        print("CHECK FAILED: kspill and pandas disagree")
        sys.exit(1)


def kspill_ingest(kspill, ranks, job, out, files):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = ["mpirun", "-n", str(ranks), kspill, "-q", "ingest", job, "--out", out] + \
          [a for f in files for a in ("--in", f)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
