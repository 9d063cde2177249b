#!/usr/bin/env bash
# kspill fit on panels simulated with known coefficients (tests/ref/fit_reference.py):
# statsmodels agreement (probit OIM and cluster, logit, LPM, margins), the two
# identities of method.md, bit-identical results with 1, 2, 3 ranks x 1, 2
# threads, parameter recovery and SEs against the spread over replications.
. "$(dirname "$0")/lib.sh"
REF="$SRC/tests/ref/fit_reference.py"
X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"
model() { # model NAME [extra lines]
  local name=$1; shift
  printf '[model.%s]\ny = export\nx = %s\nfe = year, industry\n' "$name" "$X"
  for l in "$@"; do echo "$l"; done
}
mkdir -p sim
"$PY" "$REF" simulate sim/panel.h5 --rows 200000 --seed 7
{ printf '[job]\nworkdir = sim\n'
  model pc "se = cluster" "margins = ame_paper, ame, mem"
  model po "margins = ame_paper, ame, mem"
  model m5 "standardize = yes" "margins = ame_paper"
  model lg "link = logit" "margins = ame_paper, ame, mem"
  model lp "link = lpm"
  model lpc "link = lpm" "se = cluster"
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

"$PY" "$REF" compare dump11.txt sim/panel.h5 pc probit cluster || fail "probit cluster vs statsmodels"
"$PY" "$REF" compare dump11.txt sim/panel.h5 po probit oim --margins || fail "probit vs statsmodels"
"$PY" "$REF" compare dump11.txt sim/panel.h5 lg logit oim --margins || fail "logit vs statsmodels"
"$PY" "$REF" compare dump11.txt sim/panel.h5 lp lpm oim || fail "lpm vs statsmodels OLS"
"$PY" "$REF" compare dump11.txt sim/panel.h5 lpc lpm cluster || fail "lpm cluster vs statsmodels OLS"
ok "probit, logit, lpm agree with statsmodels"

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

# ---- recovery: 10^6 rows, every estimate within 3 SE of the truth ----
mkdir -p big
"$PY" "$REF" simulate big/panel.h5 --rows 1000000 --seed 11
{ printf '[job]\nworkdir = big\n'; model m; } > big.ini
KS_FIT_DUMP=$PWD/big.txt OMP_NUM_THREADS=1 run 2 fit big.ini > /dev/null
"$PY" "$REF" recover big.txt m || fail "an estimate is more than 3 SE from the truth"
ok "10^6 rows: every estimate within 3 SE of the truth"

# ---- 20 replications of 5x10^4 rows: reported SE vs the spread ----
for s in $(seq 1 20); do
  mkdir -p r$s
  "$PY" "$REF" simulate r$s/panel.h5 --rows 50000 --seed $((100 + s))
  { printf '[job]\nworkdir = r%s\n' $s; model m; } > r$s.ini
  KS_FIT_DUMP=$PWD/r$s.txt OMP_NUM_THREADS=2 run 1 fit r$s.ini > /dev/null
done
"$PY" -c "
import sys, numpy as np; sys.path.insert(0, '$SRC/tests/ref')
from fit_reference import read_dump, X
b = np.array([[read_dump(f'r{s}.txt')['m']['coef'][x][0] for x in X] for s in range(1, 21)])
se = np.array([[read_dump(f'r{s}.txt')['m']['coef'][x][1] for x in X] for s in range(1, 21)])
ratio = se.mean(0) / b.std(0, ddof=1)
print('mean reported SE / sd of estimates:', ' '.join(f'{x}={q:.3f}' for x, q in zip(X, ratio)))
# with 20 replications the sd of an sd is about 16%: the check allows 20% on average
sys.exit(0 if abs(np.mean(ratio) - 1) < 0.2 else 1)
" || fail "reported SEs do not match the spread over replications"
ok "reported SEs match the spread of 20 replications"
