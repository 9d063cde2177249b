#!/usr/bin/env bash
# kspill fit on panels simulated with known coefficients (tests/ref/fit_reference.py):
# statsmodels agreement (probit OIM, robust and cluster, logit, LPM OIM, robust
# and cluster, margins, a `where` sample), the two identities of method.md,
# bit-identical results with 1, 2, 3 ranks x 1, 2 threads, parameter recovery
# and SEs against the spread of the estimates over 100 replications.
. "$(dirname "$0")/lib.sh"
REF="$SRC/tests/ref/fit_reference.py"
X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"
model() { # model NAME [extra lines]
  local name=$1; shift
  printf '[model.%s]\ny = export\nx = %s\nfe = year, industry\n' "$name" "$X"
  for l in "$@"; do echo "$l"; done
}

# ---- 2x10^5 rows (4 blocks of 65,536): every SE kind, margins, a filter ----
mkdir -p sim
"$PY" "$REF" simulate sim/panel.h5 --rows 200000 --seed 7
{ printf '[job]\nworkdir = sim\n'
  model pc "se = cluster" "margins = ame_paper, ame, mem"
  model po "margins = ame_paper, ame, mem"
  model pr "se = robust" "margins = ame_paper, ame, mem"
  model m5 "standardize = yes" "margins = ame_paper"
  model lg "link = logit" "margins = ame_paper, ame, mem"
  model lp "link = lpm"
  model lpc "link = lpm" "se = cluster"
  model lpr "link = lpm" "se = robust"
  model east "where = region == East and year >= 2005"
} > sim.ini

for n in 1 2 3; do
  for t in 1 2; do
    KS_FIT_DUMP=$PWD/dump$n$t.txt OMP_NUM_THREADS=$t run $n fit sim.ini > /dev/null
  done
done
for d in dump12 dump21 dump22 dump31 dump32; do
  cmp -s dump11.txt $d.txt || fail "$d.txt differs from dump11.txt (1 rank, 1 thread)"
done
ok "every estimate, SE, margin and loglik identical (%.17g) with 1, 2, 3 ranks x 1, 2 threads"

# ---- missing values in the first rows: ranks rebalance, the same bits ----
# newexport NaN in the first two of the four blocks, as in the baseline year
# of the firms that come first in a real panel: blocks move between ranks so
# that each holds about as many complete rows (with 3 ranks rank 0 keeps
# none: a sample without rows on one rank).
mkdir -p gaps
"$PY" - <<'PYEOF'
import shutil
import h5py, numpy as np
shutil.copy("sim/panel.h5", "gaps/panel.h5")
with h5py.File("gaps/panel.h5", "r+") as f:
    ne = f["panel/newexport"][()]
    ne[:131072] = np.nan
    f["panel/newexport"][...] = ne
PYEOF
{ printf '[job]\nworkdir = gaps\n'; model po; model pr "se = robust"; } > gaps.ini
for n in 1 2 3; do
  KS_FIT_DUMP=$PWD/gaps$n.txt OMP_NUM_THREADS=1 "$MPIEXEC" -n $n "$KSPILL" -v fit gaps.ini > gaps$n.log 2>&1 ||
    fail "kspill fit of the panel with missing values failed with $n ranks: $(tail -3 gaps$n.log)"
done
grep -q "balanced to rows" gaps3.log || fail "3 ranks did not rebalance the rows: $(grep 'fit:' gaps3.log | head -3)"
for n in 2 3; do
  cmp -s gaps1.txt gaps$n.txt || fail "gaps$n.txt differs from gaps1.txt (the rebalanced split changed the bits)"
done
ok "missing values in the first rows: blocks move between ranks, the same bits with 1, 2, 3 ranks"

# ---- levels that predict the outcome perfectly, and levels left empty ----
# The smallest year has no export: it is dropped; an industry exports in every
# other year, so it predicts export perfectly once that year is gone (the
# same round, the effects taken in turn); an industry has no newexport at all.
# The notes and the sample are computed here from the rule (docs/fit.md), and
# the estimates checked against statsmodels on that sample.
mkdir -p perfect
"$PY" - <<'PYEOF' > perfect/expect.txt
import shutil
import h5py, numpy as np
shutil.copy("sim/panel.h5", "perfect/panel.h5")
with h5py.File("perfect/panel.h5", "r+") as f:
    g = f["panel"]
    year, ind = g["year"][()], g["industry"][()]
    y0, inds = year.min(), np.unique(ind)
    i1, i3 = inds[3], inds[len(inds) // 2]
    ex, ne = g["export"][()], g["newexport"][()]
    ex[year == y0] = 0
    ex[(ind == i1) & (year != y0)] = 1
    ne[ind == i3] = np.nan
    g["export"][...], g["newexport"][...] = ex, ne
keep = np.isfinite(ne)
for rnd in range(20):                       # the rule, effect by effect in rounds
    changed = False
    for name, col in (("year", year), ("industry", ind)):
        levels = np.unique(col[keep])
        bad = [l for l in levels if ex[keep & (col == l)].min() == ex[keep & (col == l)].max()]
        if bad:
            gone = keep & np.isin(col, bad)
            print(f"{len(bad)} level(s) of {name} predict export perfectly: {gone.sum()} rows dropped")
            keep &= ~gone
            changed = True
    if not changed:
        break
for name, col in (("year", year), ("industry", ind)):
    lo, hi = col[keep].min(), col[keep].max()
    empty = [l for l in np.unique(col) if lo <= l <= hi and not (keep & (col == l)).any()]
    if empty:
        print(f"{name}: {len(empty)} level(s) without rows in the estimation sample dropped")
print(f"WHERE year != {y0} and industry != {i1}")
PYEOF
grep -q "predict export perfectly" perfect/expect.txt && grep -q "without rows" perfect/expect.txt ||
  fail "the perfect-prediction panel does not exercise the rule: $(cat perfect/expect.txt)"
{ printf '[job]\nworkdir = perfect\n'; model po; } > perfect.ini
for n in 1 2 3; do
  KS_FIT_DUMP=$PWD/perfect$n.txt OMP_NUM_THREADS=1 "$MPIEXEC" -n $n "$KSPILL" -v fit perfect.ini > perfect$n.log 2>&1 ||
    fail "kspill fit of the panel with perfect predictors failed with $n ranks: $(tail -3 perfect$n.log)"
  grep -v '^WHERE' perfect/expect.txt | sed 's/^/model po: /' > perfect/want.txt
  grep -o 'model po: [0-9a-z].*\(perfectly\|sample dropped\).*' perfect$n.log > perfect/got$n.txt || true
  diff perfect/want.txt perfect/got$n.txt >&2 || fail "the notes of $n rank(s) are not the rule's (above: want, got)"
done
for n in 2 3; do
  cmp -s perfect1.txt perfect$n.txt || fail "perfect$n.txt differs from perfect1.txt"
done
ok "levels that predict export perfectly, in turn and in rounds, and empty levels: the notes the rule gives, the same bits with 1, 2, 3 ranks"

# ---- margins on 10^4 rows: statsmodels' get_margeff costs O(N K^2) ----
mkdir -p small
"$PY" "$REF" simulate small/panel.h5 --rows 10000 --seed 8
{ printf '[job]\nworkdir = small\n'
  model po "margins = ame_paper, ame, mem"
  model pr "se = robust" "margins = ame_paper, ame, mem"
  model lg "link = logit" "margins = ame_paper, ame, mem"
  model pm "margins = ame_paper, mem"
  model lgm "link = logit" "margins = ame_paper, mem"
} > small.ini
KS_FIT_DUMP=$PWD/small.txt OMP_NUM_THREADS=1 run 2 fit small.ini > /dev/null

# ---- 100 replications of 5x10^4 rows: reported SE vs the spread ----
# At most 32 models a job: 4 panels of 25 independent samples (column rep),
# each job one model per sample (where = rep == k), the panel read once.
pids=()
for p in 0 1 2 3; do
  mkdir -p rep$p
  "$PY" "$REF" simulate rep$p/panel.h5 --rows 50000 --reps 25 --seed $((100 + p))
  { printf '[job]\nworkdir = rep%s\n' $p
    for k in $(seq 0 24); do model "r$k" "where = rep == $k"; done; } > rep$p.ini
  KS_FIT_DUMP=$PWD/rep$p.txt OMP_NUM_THREADS=1 run 1 fit rep$p.ini > /dev/null & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "kspill fit of the replications failed"; done
"$PY" "$REF" spread rep0.txt rep1.txt rep2.txt rep3.txt ||
  fail "reported SEs do not match the spread over replications (20%, every coefficient)"
ok "reported SEs match the spread of 100 replications within 20%, every coefficient"

# ---- statsmodels (one process, so statsmodels loads once) ----
"$PY" "$REF" compare dump11.txt sim/panel.h5 \
  pc probit cluster  po probit oim  pr probit robust  lg logit oim \
  lp lpm oim  lpc lpm cluster  lpr lpm robust \
  east probit oim --where "region == 0 and year >= 2005" \
  --dump small.txt --panel small/panel.h5 \
  po probit oim --margins  pr probit robust --margins  lg logit oim --margins \
  pm probit oim --margins  lgm logit oim --margins \
  --dump rep2.txt --panel rep2/panel.h5 r7 probit oim --where "rep == 7" \
  --dump gaps1.txt --panel gaps/panel.h5 po probit oim pr probit robust \
  --dump perfect1.txt --panel perfect/panel.h5 po probit oim --where "$(sed -n 's/^WHERE //p' perfect/expect.txt)" ||
  fail "kspill and statsmodels disagree (see above)"
ok "probit, logit, lpm (OIM, robust, cluster), margins and where-samples agree with statsmodels"

"$PY" -c "
import sys; sys.path.insert(0, '$SRC/tests/ref')
from fit_reference import read_dump, X
r = read_dump('dump11.txt')
m4, m5 = r['po'], r['m5']
w1 = max(abs(m5['coef'][x][0] - m4['coef'][x][0] * m5['sd'][x]) / abs(m5['coef'][x][0]) for x in X)
ratios = [m5['ame_paper'][x][0] / m5['coef'][x][0] for x in X]
w2 = max(abs(q - ratios[0]) / ratios[0] for q in ratios)
print(f'identity 1 (m5 = m4 x sd): {w1:.2e}; identity 2 (ame_paper = m5 x mean pdf): {w2:.2e}')
sys.exit(0 if w1 < 1e-10 and w2 < 1e-10 else 1)
" || fail "the identities of method.md do not hold to 1e-10"
ok "the two identities of method.md hold to 1e-10"

# ---- a model that differs only in margins and title takes the previous
# model's estimate (ks_fit.c), and models on the same sample take its rows,
# order and levels with their parameters renumbered for their x terms
# (ks_fit_design.c), keeping or moving the x columns they share, and a
# subsample takes a larger sample's row order: the same bits as fitting each
# alone ----
mkdir -p reuse alone
ln sim/panel.h5 reuse/panel.h5
ln sim/panel.h5 alone/panel.h5
x3() { printf '[model.%s]\ny = export\nx = density_city, tradevalue, newexport\nfe = year, industry\n%s\n' "$1" "${2:-}"; }
# ps standardizes its x columns in place: p3r after it must gather them again;
# pe, a subsample, takes its rows in the order of po's sample
{ printf '[job]\nworkdir = reuse\n'; x3 p3; model po; model pm "margins = ame, mem" "title = (6)"
  model ps "standardize = yes"; x3 p3r "se = robust"; model pe "where = region == East and year >= 2005"
  } > reuse.ini
KS_FIT_DUMP=$PWD/reuse.txt OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 "$KSPILL" fit reuse.ini > /dev/null 2> reuse.err ||
  { cat reuse.err >&2; fail "fit reuse.ini failed"; }
grep -q "model pm: the estimate of model po" reuse.err || { cat reuse.err >&2; fail "pm did not take po's estimate"; }
for m in po ps p3r; do
  grep -q "model $m: the sample of model p3" reuse.err || { cat reuse.err >&2; fail "$m did not take p3's sample"; }
done
for m in pm po ps p3r pe; do
  case $m in
    pm) model pm "margins = ame, mem" "title = (6)" ;;
    po) model po ;;
    ps) model ps "standardize = yes" ;;
    pe) model pe "where = region == East and year >= 2005" ;;
    p3r) x3 p3r "se = robust" ;;
  esac | { printf '[job]\nworkdir = alone\n'; cat; } > alone.ini
  KS_FIT_DUMP=$PWD/alone_$m.txt OMP_NUM_THREADS=1 run 2 fit alone.ini > /dev/null
  cmp -s <(grep -E "^[a-z_]+ $m " reuse.txt) <(grep -E "^[a-z_]+ $m " alone_$m.txt) ||
    fail "$m fitted after other models differs from $m fitted alone"
done
[ "$(grep -cE "^(coef|ame|mem) pm " alone_pm.txt)" -ge 15 ] || fail "pm's dump lacks coefficients or margins"
[ "$(grep -cE "^coef p3r " alone_p3r.txt)" -ge 4 ] || fail "p3r's dump lacks coefficients"
ok "a model reusing an estimate, a sample with more or fewer x terms, a subsample in a larger sample's order: the same bits as alone"

# ---- a fixed effect that holds fractions: the model is reported as not
# estimated, naming the column, a value and its row of /panel ----
{ printf '[job]\nworkdir = reuse\n'
  printf '[model.badfe]\ny = export\nx = density_city\nfe = year, tradevalue\n'; } > badfe.ini
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 "$KSPILL" fit badfe.ini > /dev/null 2> badfe.err ||
  { cat badfe.err >&2; fail "fit badfe.ini failed instead of reporting the model"; }
grep -qE "model badfe not estimated: model badfe: fixed effect tradevalue holds -?[0-9.e+-]+ at row [0-9]+ of /panel, not an integer" badfe.err ||
  { cat badfe.err >&2; fail "no clear message for a fixed effect that is not an integer"; }
ok "a fixed effect holding fractions: the model is not estimated, the message names the column, value and row"

# ---- a probit outcome that is not 0/1: the same, naming the first such row ----
{ printf '[job]\nworkdir = reuse\n'
  printf '[model.bady]\ny = tradevalue\nx = density_city\nfe = year, industry\n'; } > bady.ini
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 "$KSPILL" fit bady.ini > /dev/null 2> bady.err ||
  { cat bady.err >&2; fail "fit bady.ini failed instead of reporting the model"; }
first=$("$PY" -c "
import h5py, numpy as np
with h5py.File('reuse/panel.h5') as f:
    g = f['panel']
    v = g['tradevalue'][()]
    ok = np.isfinite(v) & np.isfinite(g['density_city'][()])
    print(np.flatnonzero(ok & (v != 0) & (v != 1))[0])")
grep -qE "model bady not estimated: model bady: the dependent column tradevalue holds -?[0-9.e+-]+ at row $first of /panel; probit and logit need 0/1" bady.err ||
  { cat bady.err >&2; fail "no clear message (row $first) for a probit outcome that is not 0/1"; }
ok "a probit outcome that is not 0/1: the model is not estimated, the message names the column, value and first row ($first)"

# ---- recovery: 10^6 rows, every estimate within 3 SE of the truth ----
mkdir -p big
"$PY" "$REF" simulate big/panel.h5 --rows 1000000 --seed 11
{ printf '[job]\nworkdir = big\n'; model m; } > big.ini
KS_FIT_DUMP=$PWD/big.txt OMP_NUM_THREADS=1 run 2 fit big.ini > /dev/null
"$PY" "$REF" recover big.txt m || fail "an estimate is more than 3 SE from the truth"
ok "10^6 rows: every estimate within 3 SE of the truth"
