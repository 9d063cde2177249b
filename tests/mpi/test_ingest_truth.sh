#!/usr/bin/env bash
# ingest reproduces the true counts synth planted (rows, bad rows by kind,
# traders, processing, unknown cities, unmapped codes, splits, flows, value,
# firms), per year; and an independent pandas implementation of method.md
# section 1 gives the same records.
. "$(dirname "$0")/lib.sh"
run 2 synth --preset tiny --seed 3 --out synth
# a partner-filtered density makes ingest keep imports by partner country
tiny_job out synth "[density.sister]" "scope = city" "partners = US, JP"
run 2 ingest out.ini
"$PY" - <<'PY'
import csv, sys, h5py, numpy as np
truth = list(csv.DictReader(open("synth/truth_counts.csv")))
with h5py.File("out/records.h5", "r") as f:
    rep = f["ingest_report"]
    years = list(rep["year"][:])
    bad = []
    for row in truth:
        y = int(row["year"]); i = years.index(y)
        for col, want in row.items():
            if col == "year": continue
            got = int(rep[col][i])
            if got != int(want):
                bad.append(f"year {y} {col}: ingest {got}, truth {want}")
    if bad:
        print("CHECK FAILED: report differs from truth:\n  " + "\n  ".join(bad)); sys.exit(1)
    print(f"ok: ingest report equals synth truth: {len(truth)} years x {len(truth[0])-1} counts")
    # cities (of firm-years with kept rows) and HS4 headings (of /flows) per year, counted here
    fy = f["firm_years"]
    fy_year, fy_city, fy_kept = fy["year"][:], fy["city"][:], fy["rows_kept"][:]
    for i, y in enumerate(years):
        if y == 0:
            continue
        cities = len(np.unique(fy_city[(fy_year == y) & (fy_kept > 0) & (fy_city >= 0)]))
        products = len(np.unique(f[f"flows/{y}/hs4"][:]))
        if (rep["cities"][i], rep["products"][i]) != (cities, products):
            print(f"CHECK FAILED: year {y}: cities {rep['cities'][i]}, products {rep['products'][i]} "
                  f"in the report; counted {cities}, {products}"); sys.exit(1)
    print("ok: the report's cities and products per year equal those counted from /firm_years, /flows")
PY
"$PY" "$SRC/tests/ref/ingest_reference.py" "$SRC/data" out.ini out/records.h5 synth/customs_*.csv
