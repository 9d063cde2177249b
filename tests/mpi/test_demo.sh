#!/usr/bin/env bash
# The main job, jobs/demo.ini, end to end with 2 ranks: ingest reproduces the
# planted counts, the panel shows the planted structure (mean density_firm and
# density_city higher for exported than for non-exported products, every
# year), `kspill run` then skips the four stages, fits the paper's models
# and ends with Table 1 and Table 2 with the planted signs (density_firm and
# density_city positive, their interaction negative, in every model), and
# the Stata export read back by ReadStat's own reader holds the panel's
# values.
. "$(dirname "$0")/lib.sh"
set_work() { sed "s|^workdir = .*|workdir = demo|" "$SRC/jobs/demo.ini" > demo.ini; }
set_work
for stage in synth ingest relatedness panel; do
  run 2 $stage demo.ini > /dev/null
done
"$PY" - <<'PY'
import csv, sys, h5py, numpy as np
truth = list(csv.DictReader(open("demo/synth/truth_counts.csv")))
with h5py.File("demo/records.h5") as f:
    rep = f["ingest_report"]; years = list(rep["year"][:])
    for row in truth:
        i = years.index(int(row["year"]))
        for col, want in row.items():
            if col != "year" and int(rep[col][i]) != int(want):
                sys.exit(f"CHECK FAILED: demo ingest {row['year']} {col}: {int(rep[col][i])} != {want}")
print("ok: demo ingest report equals the planted counts")
with h5py.File("demo/panel.h5") as f:
    p = f["panel"]
    e = p["export"][:] == 1
    y = p["year"][:]
    for col in ("density_firm", "density_city"):
        d = p[col][:]
        for year in np.unique(y):
            s = y == year
            a, b = d[s & e].mean(), d[s & ~e].mean()
            if not a > b:
                sys.exit(f"CHECK FAILED: {year} mean {col} exported {a:.4f} <= not exported {b:.4f}")
        print(f"ok: mean {col}: exported {d[e].mean():.4f} > not exported {d[~e].mean():.4f} "
              f"(and so in each of {len(np.unique(y))} years)")
PY
"$MPIEXEC" -n 2 "$KSPILL" run demo.ini > run.out 2> run.err || { cat run.err; fail "kspill run demo.ini failed"; }
[ "$(grep -c 'skipped: ' run.err)" = 4 ] || { cat run.err; fail "kspill run did not skip the four stages already done"; }
grep -q "Table 1" run.out || fail "kspill run printed no Table 1"
last=$(grep -n "Table 1" run.out | head -1 | cut -d: -f1); last2=$(grep -n "Table 2" run.out | head -1 | cut -d: -f1)
[ -n "$last2" ] && [ "$last2" -gt "$last" ] || fail "kspill run does not end with Table 1 then Table 2"
"$PY" - <<'PY'
import csv, sys
est = {(r["model"], r["term"]): r for r in csv.DictReader(open("demo/estimates.csv")) if r["kind"] == "coefficient"}
want = {"density_firm": 1, "density_city": 1, "density_firm*density_city": -1}
n = 0
for (model, term), r in sorted(est.items()):
    if term in want:
        b, p = float(r["estimate"]), float(r["p_value"])
        if not (b * want[term] > 0 and p < 0.01):
            sys.exit(f"CHECK FAILED: {model} {term} = {b:.4f} (p {p:.2g}): planted sign {want[term]:+d}")
        n += 1
print(f"ok: kspill run ends with Table 1 and Table 2; all {n} density terms have the planted sign at 1%")
PY
# a changed model, its fit stopped by Slurm's warning signal: status says
# partial, and kspill run resumes it from the checkpoint
chg="--set model.m1.se=robust"
"$MPIEXEC" -n 2 "$KSPILL" fit demo.ini $chg > stop.log 2>&1 &
pid=$!
for i in $(seq 1 600); do grep -q "iteration 1" stop.log && break; sleep 0.05; done
kill -USR1 $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 75 ] || { cat stop.log; fail "fit after SIGUSR1: exit status $rc, want 75"; }
"$MPIEXEC" -n 1 "$KSPILL" status demo.ini $chg > status.out
grep -q "^fit  *partial .*checkpoint" status.out || { cat status.out; fail "status does not show fit partial"; }
"$MPIEXEC" -n 2 "$KSPILL" run demo.ini $chg > run2.out 2> run2.err || { cat run2.err; fail "resumed run failed"; }
grep -q "resuming from" run2.err || fail "kspill run did not resume from the checkpoint"
"$MPIEXEC" -n 1 "$KSPILL" status demo.ini $chg | grep -q "^fit  *done" || fail "fit not done after the resumed run"
ok "a fit stopped by SIGUSR1 exits 75, shows as partial in kspill status, and kspill run resumes it"
run 2 export demo.ini --format dta --years 2010-2011 --columns firm_id,year,product,region,export,density_firm,newexport > /dev/null
readstat demo/panel.dta demo/readstat.csv > /dev/null
"$PY" - <<'PY'
import csv, math, sys, h5py, numpy as np
rows = list(csv.DictReader(open("demo/readstat.csv")))
with h5py.File("demo/panel.h5") as f:
    p = f["panel"]; y = p["year"][:]
    sel = (y >= 2010) & (y <= 2011)
    ids = f["firms/id"][:].astype(str)
    want = {"firm_id": ids[p["firm"][:][sel]], "year": y[sel], "product": p["product"][:][sel],
            "export": p["export"][:][sel], "density_firm": p["density_firm"][:][sel],
            "newexport": p["newexport"][:][sel]}
if len(rows) != int(sel.sum()):
    sys.exit(f"CHECK FAILED: panel.dta has {len(rows)} rows, the panel {int(sel.sum())}")
for k, col in want.items():
    for i, r in enumerate(rows):
        got = r[k]
        w = col[i]
        if isinstance(w, str):
            ok = got == w
        elif isinstance(w, (float, np.floating)):
            ok = (got == "" and math.isnan(w)) or (got != "" and abs(float(got) - w) <= 1e-12 * max(1, abs(w)))
        else:
            ok = float(got) == float(w)
        if not ok:
            sys.exit(f"CHECK FAILED: panel.dta row {i} {k}: {got!r} != {w!r}")
print(f"ok: panel.dta (2010-2011, {len(rows)} rows) read by ReadStat equals panel.h5")
PY
