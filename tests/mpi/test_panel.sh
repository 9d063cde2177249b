#!/usr/bin/env bash
# panel.h5 on the tiny preset: equal to an independent numpy computation
# (tests/ref/panel_reference.py) for the paper's job and for a job declaring
# every kind of density; identical with 1, 2, 3 ranks x 1, 2 threads; every
# cell with threshold 0; the planted structure (densities higher for exported
# products); partner-filtered densities.
. "$(dirname "$0")/lib.sh"
run 2 synth --preset tiny --seed 3 --out synth > /dev/null
tiny_job base synth
run 2 ingest base.ini > /dev/null
if head -1 "$SRC/src/stages/ks_relatedness.c" | grep -q TEMPORARY; then
  # the relatedness stage is not built yet: the reference's own phi
  "$PY" "$SRC/tests/ref/panel_reference.py" --make-relatedness base
  ok "relatedness.h5 from panel_reference.py (the relatedness stage is a stub)"
else
  run 2 relatedness base.ini > /dev/null
  ok "relatedness.h5 from kspill relatedness"
fi

# workdir NAME: a workdir with the inputs of base
workdir() { mkdir -p "$1"; cp base/records.h5 base/relatedness.h5 "$1/"; }

# ---- the paper's job: 1, 2, 3 ranks x 1, 2 threads ----
for n in 1 2 3; do
  for t in 1 2; do
    workdir p$n$t
    OMP_NUM_THREADS=$t run $n panel base.ini --out p$n$t > /dev/null
  done
done
for d in p12 p21 p22 p31 p32; do same_h5 p11/panel.h5 $d/panel.h5; done
ok "panel.h5 identical with 1, 2, 3 ranks x 1, 2 threads"
"$PY" "$SRC/tests/ref/panel_reference.py" p11 || fail "panel.h5 differs from the numpy reference"
ok "paper's job: every column equals the numpy reference"

# ---- every kind of declaration, and the other [panel] choices ----
tiny_job every synth \
  "[panel]" "threshold = 0.1" "newexport = log" "first_year = drop" "market_groups = pooled" \
  "market_cuts = 30, 60" \
  "[density.city_loo]" "scope = city" "leave_one_out = yes" \
  "[density.province_loo]" "scope = province" "leave_one_out = yes" \
  "[density.nation]" "scope = nation" \
  "[density.nation_loo]" "scope = nation" "leave_one_out = yes" \
  "[density.cluster]" "scope = city_hs2" \
  "[density.cluster_loo]" "scope = city_hs2" "leave_one_out = yes" \
  "[density.firm_lag]" "lag = 1" \
  "[density.city_lag_loo]" "scope = city" "leave_one_out = yes" "lag = 1" \
  "[density.cluster_lag]" "scope = city_hs2" "leave_one_out = yes" "lag = 1" \
  "[density.export_city]" "basket = exports" "scope = city"
workdir e1; workdir e3
OMP_NUM_THREADS=1 run 1 panel every.ini --out e1 > /dev/null
OMP_NUM_THREADS=2 run 3 panel every.ini --out e3 > /dev/null
same_h5 e1/panel.h5 e3/panel.h5
ok "every declaration: identical with 1 rank x 1 thread and 3 ranks x 2 threads"
"$PY" "$SRC/tests/ref/panel_reference.py" e1 || fail "panel.h5 (every declaration) differs from the numpy reference"
ok "every declaration: every column equals the numpy reference"

# ---- threshold 0: every firm-year x product cell ----
workdir z2
OMP_NUM_THREADS=1 run 2 panel base.ini --out z2 --set panel.threshold=0 > /dev/null
"$PY" - <<'PY' || fail "threshold 0 does not keep every cell"
import h5py, numpy as np
with h5py.File("z2/records.h5") as r, h5py.File("z2/panel.h5") as p:
    fy = (r["firm_years/rows_kept"][:] > 0).sum()
    P = len(r["products/hs4"])
    n = len(p["panel/firm"])
    assert n == fy * P, (n, fy, P)
    assert (p["panel/density_firm"][:] == 0).any(), "zero cells missing"
print("threshold 0: %d rows = %d firm-years x %d products" % (n, fy, P))
PY
ok "threshold 0 keeps every cell"

# ---- the planted structure and the file's self-description ----
"$PY" - <<'PY' || fail "planted structure or attributes"
import h5py, numpy as np
with h5py.File("p11/panel.h5") as f:
    p = f["panel"]
    ex = p["export"][:] == 1
    for v in ("density_firm", "density_city"):
        x = p[v][:]
        a, b = np.nanmean(x[ex]), np.nanmean(x[~ex])
        print("%s: mean %.4f exported vs %.4f not exported" % (v, a, b))
        assert a > b, v
    assert f.attrs["kspill_format"] == b"panel" or f.attrs["kspill_format"] == "panel"
    assert int(f.attrs["format_version"]) == 1
    assert float(f.attrs["threshold"]) == 0.05
    for c in p:
        assert "definition" in p[c].attrs, c
    assert "East" in str(p["region"].attrs["codes"])
    y = p["year"][:]
    assert (np.diff(y) >= 0).all(), "rows not year-major"
PY
ok "planted structure: densities higher for exported products; attributes present"

# ---- partner-filtered densities (imports from chosen source countries) ----
tiny_job partners synth "[density.pipeline]" "scope = city" "partners = US, JP" \
  "[density.own_pipeline]" "scope = firm" "partners = DE" \
  "[density.pipeline_loo]" "scope = city" "leave_one_out = yes" "partners = US, JP"
expect_fail 2 "keeps no partner countries" panel partners.ini --out p11
run 2 ingest partners.ini > /dev/null        # this job makes ingest keep partner detail
run 2 relatedness partners.ini > /dev/null
run 1 panel partners.ini > /dev/null
mkdir -p partners32 && cp partners/records.h5 partners/relatedness.h5 partners32/
OMP_NUM_THREADS=2 run 3 panel partners.ini --out partners32 > /dev/null
same_h5 partners/panel.h5 partners32/panel.h5
"$PY" "$SRC/tests/ref/panel_reference.py" partners || fail "partner densities differ from the numpy reference"
ok "partner-filtered densities (firm, city, leave-one-out) equal the numpy reference; 1x1 = 3x2"
expect_fail 2 "'XX' is not a partner country" panel partners.ini --set density.pipeline.partners=XX
