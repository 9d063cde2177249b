#!/usr/bin/env bash
# kspill fit against R's glm() (tests/ref/fit_reference.R), issue 4.
# Simulates a 10^5-row panel with known probit coefficients and year/industry
# effects (tests/ref/fit_reference.py simulate), fits the paper's model (4) as
# probit and as logit with kspill (2 ranks), exports the model's columns with
# `kspill export --format csv`, fits the same models with R's glm() (binomial,
# probit/logit link, glm.control(epsilon = 1e-14, maxit = 100), then restarts of
# glm.fit until the Newton decrement is at its floor) and checks, for the x terms
# and _cons: coefficients to 1e-8 relative (or 1e-10 absolute when near zero),
# OIM standard errors to 1e-6 relative, log-likelihood to 1e-9 relative, and N.
# kspill's numbers come from estimates.csv and results.h5 (loglik and n attributes).
# Also checks that fit_reference.R rejects bad input with a clear message.
# Needs Rscript with data.table (scripts/setup installs r-base-core, r-cran-data.table).
. "$(dirname "$0")/lib.sh"
RREF="$SRC/tests/ref/fit_reference.R"
command -v Rscript >/dev/null || fail "Rscript not found: install r-base-core and r-cran-data.table (scripts/setup)"
Rscript -e 'suppressPackageStartupMessages(library(data.table))' >/dev/null 2>&1 ||
  fail "R package data.table missing: install r-cran-data.table (scripts/setup)"

X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"
COLS=year,industry,export,density_firm,density_city,tradevalue,newexport
mkdir -p sim
"$PY" "$SRC/tests/ref/fit_reference.py" simulate sim/panel.h5 --rows 100000 --seed 7
{ printf '[job]\nworkdir = sim\n'
  printf '[model.%s]\ny = export\nx = %s\nfe = year, industry\nlink = %s\nse = oim\n' \
    m4 "$X" probit lg "$X" logit
} > sim.ini
OMP_NUM_THREADS=1 run 2 fit sim.ini > /dev/null
[ -s sim/estimates.csv ] && [ -s sim/results.h5 ] || fail "kspill fit wrote no estimates.csv/results.h5"
run 2 export sim.ini --format csv --columns "$COLS" --file panel.csv
[ -s panel.csv ] || fail "kspill export wrote no panel.csv"
ok "kspill fit (probit m4, logit lg) and kspill export --columns $COLS"

Rscript "$RREF" panel.csv r_m4.csv --link probit || fail "fit_reference.R (probit) failed"
Rscript "$RREF" panel.csv r_lg.csv --link logit || fail "fit_reference.R (logit) failed"

"$PY" - <<'EOF' || fail "kspill fit and R glm() disagree (see the lines above)"
import csv, sys
import h5py

X = ["density_firm", "density_city", "density_firm*density_city", "tradevalue", "newexport", "_cons"]
ks = {}
with open("sim/estimates.csv") as f:
    for r in csv.DictReader(f):
        if r["kind"] == "coefficient":
            ks.setdefault(r["model"], {})[r["term"]] = (float(r["estimate"]), float(r["std_error"]))
ok = True
with h5py.File("sim/results.h5", "r") as h:
    for model, link in (("m4", "probit"), ("lg", "logit")):
        a = h["models"][model].attrs
        ll_ks, n_ks = float(a["loglik"]), int(a["n"])
        if not int(a["converged"]):
            print(f"CHECK FAILED: kspill did not converge on {model}"); ok = False
        R, st = {}, {}
        with open(f"r_{model}.csv") as f:
            for r in csv.DictReader(f):
                if r["kind"] == "coefficient":
                    R[r["term"]] = (float(r["estimate"]), float(r["std_error"]), float(r["std_error_summary"]))
                elif r["kind"] == "stat":
                    st[r["term"]] = float(r["estimate"])
        missing = [t for t in X if t not in R or t not in ks.get(model, {})]
        if missing:
            print(f"CHECK FAILED: {model}: terms missing from kspill or R: {missing}"); ok = False
            continue
        db = max(abs(ks[model][t][0] - R[t][0]) / abs(R[t][0]) for t in X)
        dba = max(abs(ks[model][t][0] - R[t][0]) for t in X)
        bad_b = [t for t in X if not (abs(ks[model][t][0] - R[t][0]) <= 1e-8 * abs(R[t][0])
                                      or abs(ks[model][t][0] - R[t][0]) <= 1e-10)]
        ds = max(abs(ks[model][t][1] - R[t][1]) / R[t][1] for t in X)
        dsum = max(abs(ks[model][t][1] - R[t][2]) / R[t][2] for t in X)
        dll = abs(ll_ks - st["loglik"]) / abs(st["loglik"])
        print(f"{model} ({link}), N {n_ks}: max rel diff coefficients {db:.2e} (abs {dba:.2e}), "
              f"OIM SEs {ds:.2e}, loglik {dll:.2e} (kspill {ll_ks:.17g}, R {st['loglik']:.17g})")
        print(f"  R: glm {int(st['iterations'])} iterations, converged {int(st['converged'])}; Newton decrement "
              f"{st['newton_decrement_glm']:.1e} at glm's stop, {st['newton_decrement']:.1e} after "
              f"{int(st['polish_steps'])} glm.fit restart(s), which moved the coefficients (FE dummies included) by "
              f"{st['polish_max_rel_change']:.1e}; summary(fit) SEs (expected information) vs kspill OIM: {dsum:.1e}")
        if bad_b:
            print(f"CHECK FAILED: {model}: coefficients differ by more than 1e-8 relative / 1e-10 absolute: {bad_b}"); ok = False
        if not ds < 1e-6:
            print(f"CHECK FAILED: {model}: OIM SEs differ by {ds:.2e} relative (want < 1e-6)"); ok = False
        if not dll < 1e-9:
            print(f"CHECK FAILED: {model}: log-likelihood differs by {dll:.2e} relative (want < 1e-9)"); ok = False
        if n_ks != int(st["n"]):
            print(f"CHECK FAILED: {model}: N {n_ks} in kspill, {int(st['n'])} in R"); ok = False
        # agreement to 1e-8 means something only if R sits at the maximum much more closely:
        # the decrement d = delta' H delta puts R's coefficients sqrt(d) standard errors from it
        if not (int(st["converged"]) and st["newton_decrement"] < 1e-20):
            print(f"CHECK FAILED: {model}: R's glm is not converged tightly (Newton decrement "
                  f"{st['newton_decrement']:.1e}, want < 1e-20)"); ok = False
sys.exit(0 if ok else 1)
EOF
ok "probit and logit model (4): kspill agrees with R glm() (coef 1e-8, OIM SE 1e-6, loglik 1e-9)"

# ---- bad input to the R reference: exit 2 and a message that says what is wrong ----
r_fails() { # r_fails PATTERN ARGS...
  local pattern=$1; shift
  local out status=0
  out=$(Rscript "$RREF" "$@" 2>&1) || status=$?
  [ "$status" -eq 2 ] || fail "fit_reference.R $* exited $status, expected 2; said: $out"
  grep -q -- "$pattern" <<<"$out" || fail "fit_reference.R $* did not say '$pattern'; said: $out"
  ok "fit_reference.R $* -> exit 2: $(grep -m1 -- "$pattern" <<<"$out" | cut -c1-140)"
}
run 1 export sim.ini --format csv --columns year,industry,export,density_firm,tradevalue,newexport \
  --file nocity.csv
r_fails "lacks the column(s) density_city" nocity.csv x.csv
r_fails "no such file" missing.csv x.csv
r_fails "must be probit or logit" panel.csv x.csv --link lpm
r_fails "does not exist" panel.csv nodir/x.csv
r_fails "expected PANEL.csv and OUT.csv" panel.csv
sed -e '2s/^\([^,]*,[^,]*,\)[01]/\12/' panel.csv > badexport.csv
r_fails "export must be 0 or 1" badexport.csv x.csv
[ ! -e x.csv ] || fail "fit_reference.R left x.csv behind after an error"
