#!/usr/bin/env bash
# kspill run and kspill status on the tiny synthetic job with one probit
# model: run writes what the stages run one by one write; the outputs of
# stages run one by one count as current for run; a second run does nothing;
# a changed [model] key reruns fit only; --from panel reruns panel and fit;
# --force reruns everything; status says done, stale (and why), missing and
# missing-input.
. "$(dirname "$0")/lib.sh"

# job NAME: jobs/tiny.ini (synthetic: synth is part of its run) with workdir
# NAME and one model
job() {
  sed -e "s|^workdir = .*|workdir = $1|" "$SRC/jobs/tiny.ini" > "$1.ini"
  cat >> "$1.ini" <<'INI'

[model.m1]
title = (1)
x = density_firm, density_city, tradevalue, newexport
fe = year
link = probit
INI
}

# krun NAME ARGS...: kspill run with 2 ranks, stdout in NAME.out, the
# stage lines (stderr) in NAME.err
krun() {
  local name=$1; shift
  "$MPIEXEC" -n 2 "$KSPILL" run "$@" > "$name.out" 2> "$name.err" ||
    { cat "$name.err" >&2; fail "kspill run $* failed"; }
}

# stages NAME STATE STAGE...: NAME.err says "run: STAGE STATE" for each
stages() {
  local name=$1 state=$2; shift 2
  for s in "$@"; do
    grep -q "run: $s *$state" "$name.err" || { cat "$name.err" >&2; fail "$name: stage $s not $state"; }
  done
}

# mtimes DIR: every file under DIR with its modification time (ns)
mtimes() { find "$1" -type f -printf '%p %T@\n' | sort; }

# status_is NAME STAGE STATE [PATTERN]: NAME (kspill status output) has a line
# for STAGE with STATE (and PATTERN)
status_is() {
  local name=$1 stage=$2 state=$3 pattern=${4:-}
  grep -E -q "^$stage +$state .*$pattern" "$name" ||
    { cat "$name" >&2; fail "status: $stage is not '$state${pattern:+ ... $pattern}'"; }
}
status() { local name=$1; shift; "$MPIEXEC" -n 1 "$KSPILL" status "$@" > "$name" || fail "kspill status $* failed"; }

# same_results A B: results.h5 equal but for each model's `seconds` (its time)
same_results() {
  same_h5 "$1" "$2" --exclude-attribute /models/m1
  "$PY" - "$1" "$2" <<'PY' || fail "$1 and $2 differ in the attributes of /models/m1"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    x, y = a["models/m1"].attrs, b["models/m1"].attrs
    keys = set(x) - {"seconds"}
    if keys != set(y) - {"seconds"}:
        sys.exit("attribute names differ")
    for k in keys:
        if not np.array_equal(x[k], y[k]):
            sys.exit(f"/models/m1 {k}: {x[k]!r} != {y[k]!r}")
PY
}

job a
job b

# ---- b: the stages one by one; then run finds every output current ----
for stage in synth ingest relatedness panel; do
  run 2 $stage b.ini > /dev/null
done
run 2 fit b.ini > b_fit.out
run 2 report b.ini > /dev/null
before=$(mtimes b)
krun b2 b.ini
stages b2 skipped synth ingest relatedness panel fit report
[ "$before" = "$(mtimes b)" ] || fail "kspill run after the stages one by one rewrote a file"
ok "the stages run one by one leave the fingerprints run expects: run skips all 5"

# ---- a: kspill run from nothing ----
krun a1 a.ini
stages a1 started synth ingest relatedness panel fit report
stages a1 done synth ingest relatedness panel fit report
tail -c "$(wc -c < b_fit.out)" a1.out | cmp -s - b_fit.out ||
  { cat a1.out >&2; fail "kspill run does not end with the tables kspill fit prints"; }
grep -q "| density_firm" b_fit.out || fail "kspill fit printed no table"
ok "kspill run ran the 5 stages and ended with the fit's table"

diff -r -x fingerprint.txt a/synth b/synth > /dev/null || fail "synth files differ between run and one by one"
same_h5 a/records.h5 b/records.h5 --exclude-path /inputs # /inputs/path: a/synth/... and b/synth/...
same_h5 a/relatedness.h5 b/relatedness.h5
same_h5 a/panel.h5 b/panel.h5
same_results a/results.h5 b/results.h5
cmp -s <(sed 's|^"a/synth/||' a/rejects.csv) <(sed 's|^"b/synth/||' b/rejects.csv) ||
  fail "rejects.csv differs between run and one by one"
cmp -s a/estimates.csv b/estimates.csv || fail "estimates.csv differs between run and one by one"
diff -r a/tables b/tables > /dev/null || fail "tables/ differ between run and one by one"
# the stamps: the same stage and settings; synth's fingerprint (settings
# only) equal; the others hold the input files' names and times, so differ
"$PY" - <<'PY' || fail "stamps differ between run and one by one"
import sys, h5py
for f, obj, stage in (("records", "/", "ingest"), ("relatedness", "/", "relatedness"), ("panel", "/", "panel"),
                      ("results", "/", "fit"), ("results", "/report", "report")):
    with h5py.File(f"a/{f}.h5", "r") as fa, h5py.File(f"b/{f}.h5", "r") as fb:
        a, b = fa[obj], fb[obj]
        for k in ("kspill_stage", "kspill_settings", "kspill_version"):
            if a.attrs[k] != b.attrs[k]:
                sys.exit(f"{f}.h5 {k}: {a.attrs[k]!r} != {b.attrs[k]!r}")
        if a.attrs["kspill_stage"] != stage.encode() or len(a.attrs["kspill_fingerprint"]) != 16:
            sys.exit(f"{f}.h5: stamp {a.attrs['kspill_stage']!r} {a.attrs['kspill_fingerprint']!r}")
        if not a.attrs["kspill_wall_seconds"] >= 0:
            sys.exit(f"{f}.h5: wall time {a.attrs['kspill_wall_seconds']}")
PY
[ "$(grep kspill_fingerprint a/synth/fingerprint.txt)" = "$(grep kspill_fingerprint b/synth/fingerprint.txt)" ] ||
  fail "synth fingerprints differ between run and one by one"
ok "kspill run's outputs equal the stages' one by one (h5diff, cmp), with the same stamps"

# ---- a second run does no work ----
before=$(mtimes a)
krun a2 a.ini
stages a2 skipped synth ingest relatedness panel fit report
grep -q "started" a2.err && fail "a second run started a stage: $(cat a2.err)"
[ "$before" = "$(mtimes a)" ] || fail "a second run rewrote a file: $(diff <(echo "$before") <(mtimes a))"
cmp -s a2.out b_fit.out || fail "a second run does not print just the tables: $(cat a2.out)"
ok "a second run skips every stage, rewrites no file and prints the tables"

status s_done a.ini
for s in synth ingest relatedness panel fit report; do status_is s_done $s done "fingerprint [0-9a-f]{16}"; done
ok "status: every stage done, with wall time and fingerprint"

# ---- one [model] key changed: fit only ----
before=$(mtimes a | grep -v -e results.h5 -e estimates.csv -e tables/ -e report)
krun a3 a.ini --set model.m1.se=robust
stages a3 skipped synth ingest relatedness panel
stages a3 started fit
grep -q "model.m1.se = robust (was oim)" a3.err || fail "run did not say which key changed: $(cat a3.err)"
[ "$before" = "$(mtimes a | grep -v -e results.h5 -e estimates.csv -e tables/ -e report)" ] ||
  fail "changing a model key rewrote files of other stages"
h5dump -a /models/m1/se a/results.h5 | grep -q robust || fail "results.h5 does not hold se = robust"
stages a3 started report
# report's group in fit's new results.h5: fit's root stamp kept, the group's inputs name it
"$PY" - <<'PY' || fail "results.h5 after fit and report: stamps wrong"
import sys, h5py
with h5py.File("a/results.h5", "r") as f:
    root, rep = f.attrs, f["report"].attrs
    if root["kspill_stage"] != b"fit" or rep["kspill_stage"] != b"report":
        sys.exit(f"stages {root['kspill_stage']!r} {rep['kspill_stage']!r}")
    if b"results.h5 = " + root["kspill_fingerprint"] not in rep["kspill_inputs"]:
        sys.exit(f"/report's inputs {rep['kspill_inputs']!r} do not name fit's {root['kspill_fingerprint']!r}")
PY
ok "--set model.m1.se=robust reran fit and report (which reads results.h5) only; /report's stamp names fit's"

status s_model a.ini
for s in synth ingest relatedness panel; do status_is s_model $s done; done
status_is s_model fit stale "model.m1.se = oim \(was robust\)"
ok "status: fit stale, naming model.m1.se"

# ---- --from panel: panel and fit ----
before=$(mtimes a | grep -e synth/ -e records.h5 -e rejects.csv -e relatedness.h5)
krun a4 a.ini --from panel
stages a4 skipped synth ingest relatedness
stages a4 started panel fit
grep -q "panel *started: --from panel" a4.err || fail "run did not say why panel reran: $(cat a4.err)"
[ "$before" = "$(mtimes a | grep -e synth/ -e records.h5 -e rejects.csv -e relatedness.h5)" ] ||
  fail "--from panel rewrote files of earlier stages"
same_h5 a/panel.h5 b/panel.h5
same_results a/results.h5 b/results.h5
ok "--from panel reran panel and fit (and fit is back to se = oim)"

# ---- status: missing, missing-input, stale ----
rm a/panel.h5
status s_gone a.ini
status_is s_gone relatedness done
status_is s_gone panel missing
status_is s_gone fit missing-input "panel.h5 is missing"
status s_window a.ini --set relatedness.window=2
status_is s_window relatedness stale "relatedness.window = 2 \(was 1\)"
status_is s_window panel missing
status_is s_window fit stale "input panel.h5 changed"
status s_fresh a.ini --out fresh
for s in synth ingest relatedness panel fit report; do status_is s_fresh $s missing; done
[ -e fresh ] && fail "status created the workdir"
ok "status: missing, missing-input, stale with the key that changed"

# deleted panel.h5: run remakes it; results.h5 still matches, so it is kept
before=$(mtimes a | grep results.h5)
krun a5 a.ini
stages a5 skipped synth ingest relatedness fit
stages a5 started panel
[ "$before" = "$(mtimes a | grep results.h5)" ] || fail "results.h5 was rewritten though current"
same_h5 a/panel.h5 b/panel.h5
ok "run remade the deleted panel.h5 and kept results.h5"

# ---- --force: everything ----
krun a6 a.ini --force
stages a6 started synth ingest relatedness panel fit report
same_h5 a/records.h5 b/records.h5 --exclude-path /inputs
same_h5 a/relatedness.h5 b/relatedness.h5
same_h5 a/panel.h5 b/panel.h5
same_results a/results.h5 b/results.h5
ok "--force reran every stage, same outputs"

# ---- errors ----
expect_fail 2 "no stage 'nosuch'" run a.ini --from nosuch
sed -e "s|^preset = tiny|preset = demo|" a.ini > mismatch.ini
expect_fail 2 "synthetic = tiny, but \[synth\] preset = demo" run mismatch.ini
tiny_job files a/synth
expect_fail 2 "no synth stage" run files.ini --from synth
