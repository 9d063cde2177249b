# kspill export: a small panel.h5 built here with h5py (the layout of
# docs/export.md: NaNs, every coded column, a density_extra column, a density
# name too long for Stata, Chinese and ASCII firm ids, an id with a comma and a
# quote, more rows than one export block) goes out as CSV and .dta, whole and
# sliced, with 1-3 ranks.  The files are checked against h5py's values by
# readers that share nothing with kspill: Python's csv module (exact), pandas'
# read_stata (exact, value and variable labels) and ReadStat's own reader
# (`readstat panel.dta out.csv`, missing values and values to its print
# precision); then the failures: no panel.h5, unknown column, years outside
# the panel, a panel not sorted by year; none may leave a file behind.
source "$(dirname "$0")/lib.sh"

JOB=$SRC/jobs/tiny.ini
command -v readstat >/dev/null || fail "the readstat command (Debian package readstat) is missing"

# ---- the panel: make_panel PATH ROWS [unsorted] ----
cat > make_panel.py <<'EOF'
import sys, numpy as np, h5py
out, n = sys.argv[1], int(sys.argv[2])
unsorted = len(sys.argv) > 3
rng = np.random.default_rng(20240611)
ids = ["3301960123", "企业0001", '4403A,B"C', "上海浦东新区9", "1100000001", "x"] + \
      ["%010d" % (1000 + i) for i in range(400)]
years = np.sort(rng.integers(2003, 2008, n)).astype(np.int16)
if unsorted:
    years[n // 2], years[n // 2 + 1] = years[-1], years[0]
def f64(p_nan, scale):
    v = rng.standard_normal(n) * scale
    v[rng.random(n) < p_nan] = np.nan
    return v
cols = {
    "firm": rng.integers(0, len(ids), n).astype(np.int64),
    "year": years,
    "product": rng.choice([101, 8471, 9706, 2709, 6403], n).astype(np.int32),
    "industry": rng.integers(1, 40, n).astype(np.int16),
    "city": rng.choice([1100, 3100, 4403, 5101, -1], n).astype(np.int32),
    "province": rng.choice([11, 31, 44, 51], n).astype(np.int16),
    "region": rng.integers(0, 4, n).astype(np.int8),
    "market": rng.integers(0, 3, n).astype(np.int8),
    "size": rng.integers(0, 3, n).astype(np.int8),
    "export": rng.integers(0, 2, n).astype(np.int8),
    "density_firm": rng.random(n),
    "density_city": f64(0.1, 1.0),
    "tradevalue": f64(0.05, 1e9),
    "newexport": f64(0.3, 3.0),
    "density_extra": f64(0.5, 1e-300),
    "density_imports_from_oecd_partners_lag1": f64(0.2, 1.0),
}
# doubles that print badly with fewer than 17 digits, a subnormal, -0, a huge one
cols["density_firm"][:6] = [0.1, 1 / 3, 5e-324, 1.7976931348623157e298, -0.0, 2.0 ** 52 + 1]
cols["newexport"][years == years.min()] = np.nan
codes = {"region": "0=East;1=Central;2=West;3=Northeast", "market": "0=low;1=middle;2=high",
         "size": "0=small;1=middle;2=large"}
with h5py.File(out, "w") as f:
    f.create_dataset("firms/id", data=np.array([s.encode() for s in ids],
                                               dtype=h5py.string_dtype("utf-8", 24)))
    g = f.create_group("panel")
    for k in sorted(cols):              # not the export order: kspill must sort
        d = g.create_dataset(k, data=cols[k], chunks=(min(n, 65536),), compression="gzip", shuffle=True)
        d.attrs["definition"] = "the %s of the firm-year-product cell" % k
        if k in codes:
            d.attrs["codes"] = codes[k]
    g["export"].attrs["definition"] = np.bytes_(b"1 if the firm exports the product that year")
    g["density_city"].attrs["definition"] = "城市密度：同城其他企业出口篮子中与产品相关的产品的 phi 加权份额，" * 3
EOF
mkdir -p w sorted_not empty
$PY make_panel.py w/panel.h5 150000
$PY make_panel.py sorted_not/panel.h5 1000 unsorted
ok "made a 150,000-row panel.h5 with h5py"

# ---- exports ----
COLS=year,firm_id,density_extra,region,tradevalue,density_imports_from_oecd_partners_lag1
run 2 export "$JOB" --out "$WORK/w" --format csv
run 1 export "$JOB" --out "$WORK/w" --format dta
run 3 export "$JOB" --out "$WORK/w" --format csv --years 2004-2005 --columns "$COLS" --file "$WORK/w/sub.csv"
run 2 export "$JOB" --out "$WORK/w" --format dta --years 2004-2005 --columns "$COLS" --file "$WORK/w/sub.dta"
run 1 export "$JOB" --out "$WORK/w" --format csv --file "$WORK/w/one.csv"
run 3 export "$JOB" --out "$WORK/w" --format dta --file "$WORK/w/three.dta"
cmp -s w/panel.csv w/one.csv || fail "the CSV depends on the number of ranks"
cmp -s w/panel.dta w/three.dta || fail "the .dta depends on the number of ranks"
ok "CSV and .dta identical with 1, 2 and 3 ranks"
ls -a w | grep -q partial && fail "a .partial file was left in w/"
readstat w/panel.dta w/readstat.csv >/dev/null
readstat w/sub.dta w/readstat_sub.csv >/dev/null

# ---- independent checks ----
cat > check.py <<'EOF'
import csv, math, sys
import h5py, numpy as np, pandas as pd

ORDER = ["firm", "year", "product", "industry", "city", "province", "region", "market",
         "size", "export", "density_firm", "density_city", "tradevalue", "newexport"]
STATA_TYPE = {np.int8: np.int8, np.int16: np.int16, np.int32: np.int32, np.int64: np.int32,
              np.float64: np.float64}

def fail(msg):
    print("CHECK FAILED: " + msg, file=sys.stderr)
    sys.exit(1)

def expected(path, years=None, columns=None):
    """The rows and columns export should write, straight from h5py."""
    with h5py.File(path) as f:
        g = f["panel"]
        ids = np.array([s.decode() for s in f["firms/id"][:]], dtype=object)
        data = {k: g[k][:] for k in g}
        attrs = {k: dict(g[k].attrs) for k in g}
    names = sorted(data, key=lambda k: (ORDER.index(k) if k in ORDER else
                                        100 if k.startswith("density_") else 200, k))
    names.insert(names.index("firm"), "firm_id")
    data["firm_id"] = ids[data["firm"]]
    if columns:
        names = columns
    keep = np.ones(len(data["year"]), bool)
    if years:
        keep = (data["year"] >= years[0]) & (data["year"] <= years[1])
    return names, {k: data[k][keep] for k in names}, attrs

def same_float(text, x):
    if math.isnan(x):
        return text == ""
    return text != "" and float(text) == x and math.copysign(1, float(text)) == math.copysign(1, x)

def check_csv(path, names, data):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if rows[0] != names:
        fail("%s header %s, expected %s" % (path, rows[0], names))
    n = len(data[names[0]])
    if len(rows) - 1 != n:
        fail("%s has %d rows, expected %d" % (path, len(rows) - 1, n))
    for j, k in enumerate(names):
        col, want = [r[j] for r in rows[1:]], data[k]
        if k == "firm_id":
            bad = [i for i in range(n) if col[i] != want[i]]
        elif want.dtype.kind == "f":
            bad = [i for i in range(n) if not same_float(col[i], want[i])]
        else:
            bad = [i for i in range(n) if int(col[i]) != want[i]]
        if bad:
            i = bad[0]
            fail("%s column %s row %d: %r, expected %r (%d rows differ)" % (path, k, i, col[i], want[i], len(bad)))
    print("ok: %s: %d rows x %d columns equal to h5py's, exactly" % (path, n, len(names)))

def stata_names(names):
    return [k[:32] for k in names]

def check_dta_pandas(path, names, data, attrs):
    reader = pd.io.stata.StataReader(path)
    df = reader.read(convert_categoricals=False)
    snames = stata_names(names)
    if list(df.columns) != snames:
        fail("%s variables %s, expected %s" % (path, list(df.columns), snames))
    if len(df) != len(data[names[0]]):
        fail("%s has %d rows, expected %d" % (path, len(df), len(data[names[0]])))
    for k, s in zip(names, snames):
        got, want = df[s].to_numpy(), data[k]
        if k == "firm_id":
            ok = np.array_equal(got.astype(str), want.astype(str))
        elif want.dtype.kind == "f":
            ok = np.array_equal(got, want, equal_nan=True) and got.dtype == np.float64
        else:
            ok = np.array_equal(got, want) and got.dtype == STATA_TYPE[want.dtype.type]
        if not ok:
            fail("%s: variable %s (%s) differs from /panel/%s (%s)" % (path, s, got.dtype, k, want.dtype))
    labels = reader.variable_labels()
    for k, s in zip(names, snames):
        d = attrs.get(k if k != "firm_id" else "firm", {}).get("definition", b"")
        d = d.decode() if isinstance(d, bytes) else d
        if k != "firm_id" and labels[s] != d[:80]:
            fail("%s: label of %s is %r, expected %r" % (path, s, labels[s], d[:80]))
        if not labels[s]:
            fail("%s: %s has no variable label" % (path, s))
    vl = reader.value_labels()
    for k in ("region", "market", "size"):
        if k not in names:
            continue
        want = {int(c): l for c, l in (p.split("=") for p in attrs[k]["codes"].split(";"))}
        if vl.get(k) != want:
            fail("%s: value labels of %s are %r, expected %r" % (path, k, vl.get(k), want))
    cat = pd.read_stata(path)
    if "region" in names:
        want = pd.Series(data["region"]).map(vl["region"])
        if not (cat["region"].astype(str).to_numpy() == want.to_numpy()).all():
            fail("%s: pandas' labelled region differs" % path)
    print("ok: %s: pandas.read_stata gives h5py's values exactly, with types, variable and value labels" % path)

def check_dta_readstat(path, names, data):
    """ReadStat's own reader; it prints reals with limited digits."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    snames = stata_names(names)
    if list(df.columns) != snames:
        fail("%s columns %s, expected %s" % (path, list(df.columns), snames))
    for k, s in zip(names, snames):
        got, want = df[s].to_numpy(), data[k]
        for i in range(len(want)):
            g, w = got[i], want[i]
            if k == "firm_id":
                ok = g == w
            elif want.dtype.kind == "f":
                ok = (g == "") == math.isnan(w) and (g == "" or math.isclose(float(g), w, rel_tol=1e-12, abs_tol=1e-6))
            else:
                ok = int(g) == w
            if not ok:
                fail("%s column %s row %d: %r, expected %r" % (path, s, i, g, w))
    nmiss = sum(int(np.isnan(data[k]).sum()) for k in names if data[k].dtype.kind == "f")
    print("ok: %s (ReadStat's reader): %d rows equal, %d missing values missing" % (path, len(df), nmiss))

h5 = sys.argv[1]
sub_years, sub_cols = (2004, 2005), sys.argv[2].split(",")
names, data, attrs = expected(h5)
check_csv("w/panel.csv", names, data)
check_dta_pandas("w/panel.dta", names, data, attrs)
check_dta_readstat("w/readstat.csv", names, data)
names, data, _ = expected(h5, sub_years, sub_cols)
check_csv("w/sub.csv", names, data)
check_dta_pandas("w/sub.dta", names, data, attrs)
check_dta_readstat("w/readstat_sub.csv", names, data)
EOF
$PY check.py w/panel.h5 "$COLS"

# ---- failures: a clear message, an exit status, and nothing left behind ----
expect_fail 1 "run \`kspill panel" export "$JOB" --out "$WORK/empty" --format csv
expect_fail 2 "has no column 'nosuch'; its columns are: firm_id, firm, year, product" \
    export "$JOB" --out "$WORK/w" --format dta --columns year,nosuch --file "$WORK/w/bad.dta"
expect_fail 2 "names year twice" export "$JOB" --out "$WORK/w" --format csv --columns year,year --file "$WORK/w/bad.csv"
expect_fail 2 "reaches outside the years of .*panel.h5, 2003-2007" \
    export "$JOB" --out "$WORK/w" --format csv --years 1995-2004 --file "$WORK/w/bad.csv"
expect_fail 1 "panel/year is not sorted" export "$JOB" --out "$WORK/sorted_not" --format dta
expect_fail 2 "format csv or --format dta" export "$JOB" --out "$WORK/w" --format xlsx
[ -z "$(ls -A empty)" ] || fail "a failed export left $(ls -A empty) in empty/"
ls -a w sorted_not | grep -E "bad|partial|\.dta$" | grep -v -E "^(panel|sub|three)\.dta$" && fail "a failed export left a file"
ok "failed exports left no file"
