#!/usr/bin/env bash
# slurm/submit on a real one-node Slurm cluster (munged, slurmctld, slurmd on
# localhost, tests/slurm/cluster.sh, all state in this test's folder): the
# main job, jobs/demo.ini, submitted as batch jobs chained with afterok (synth,
# ingest, relatedness, panel, its 11 models as a job array, the fit that
# collects them, and the report), gives the outputs a direct `mpirun -n 2 kspill run` gives; no
# partial file is ever under a final name; `kspill status` then says every
# stage is done and a second submission submits nothing; a stage job whose
# output is current runs nothing; the mpirun launcher gives the same fit.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/slurm/cluster.sh"
. "$SRC/tests/slurm/checks.sh"

slurm_cluster_start "$WORK/cluster"

sed -e "s|^workdir = .*|workdir = slurm|" "$SRC/jobs/demo.ini" > slurm.ini
sed -e "s|^workdir = .*|workdir = direct|" "$SRC/jobs/demo.ini" > direct.ini

# ---- the chain ----
mkdir -p slurm
watch_final_names slurm
t0=$SECONDS
"$SRC/slurm/submit" slurm.ini --kspill="$KSPILL" > ids 2> submit.err || { cat submit.err >&2; fail "slurm/submit failed"; }
[ "$(cut -d' ' -f1 ids | tr '\n' ' ')" = "synth ingest relatedness panel models fit report " ] ||
  fail "slurm/submit did not print the 6 stages and the models' array with their job ids: $(cat ids)"
id() { awk -v s="$1" '$1 == s { print $2 }' ids; }
[ "$(slurm_job_field "$(id models)" ArrayTaskId)" = 0-10 ] || fail "the models' array has not the 11 tasks 0-10"
previous=""
for s in synth ingest relatedness panel models fit report; do
  dep=$(slurm_job_field "$(id $s)" Dependency)
  if [ -n "$previous" ]; then
    [[ $dep == afterok:$previous* ]] || fail "$s (job $(id $s)) has Dependency=$dep, expected afterok:$previous"
  fi
  previous=$(id $s)
done
ok "slurm/submit: 7 jobs $(tr '\n' ' ' < ids)chained with afterok, the models an array of 11 tasks"

slurm_wait_job "$(id report)" 600 || fail "the chain did not end in 10 minutes"
slurm_time=$((SECONDS - t0))
for s in synth ingest relatedness panel fit report; do
  job_is "$(id $s)" COMPLETED 0:0
  grep -q "kspill.sbatch: .* $s done" "$(job_log "$(id $s)" $s slurm)" ||
    { cat "$(job_log "$(id $s)" $s slurm)" >&2; fail "the log of $s does not say it is done"; }
done
array_is "$(id models)" COMPLETED 0:0 11
for t in $(seq 0 10); do
  grep -q "kspill.sbatch: .* fit of model [a-z0-9]* done" "slurm/slurm/models-$(id models)_$t.out" ||
    { cat "slurm/slurm/models-$(id models)_$t.out" >&2; fail "array task $t did not fit its model"; }
done
grep -q "fit: resuming from fit.checkpoint\* (11 model(s) recorded)" "$(job_log "$(id fit)" fit slurm)" ||
  fail "the fit job did not collect the 11 models of the array"
ls slurm/fit.checkpoint* > /dev/null 2>&1 && fail "checkpoints left after the fit: $(ls slurm/fit.checkpoint*)"
grep -q "2 ranks x 1 threads" "$(job_log "$(id fit)" fit slurm)" || fail "the fit job did not run 2 ranks x 1 thread"
ok "every job and array task COMPLETED with exit code 0:0, in ${slurm_time} s from submission to the end of the report"
final_names_ok slurm

# ---- the same job by hand ----
t0=$SECONDS
"$MPIEXEC" -n 2 "$KSPILL" -q run direct.ini > direct.out || fail "mpirun -n 2 kspill run failed"
ok "direct mpirun -n 2 kspill run: $((SECONDS - t0)) s"

diff -r -x fingerprint.txt slurm/synth direct/synth > /dev/null || fail "synth files differ"
same_h5 slurm/records.h5 direct/records.h5 --exclude-path /inputs # /inputs/path: slurm/synth/... and direct/synth/...
same_h5 slurm/relatedness.h5 direct/relatedness.h5
same_h5 slurm/panel.h5 direct/panel.h5
cmp -s <(sed 's|^"slurm/synth/||' slurm/rejects.csv) <(sed 's|^"direct/synth/||' direct/rejects.csv) ||
  fail "rejects.csv differs"
same_fit_outputs slurm direct
same_report slurm direct
diff -r slurm/report/data direct/report/data > /dev/null || fail "the report's data files differ"
"$PY" - <<'PY' || fail "stamps differ between the Slurm jobs and kspill run"
import sys, h5py
for f, obj in (("records", "/"), ("relatedness", "/"), ("panel", "/"), ("results", "/"), ("results", "/report")):
    with h5py.File(f"slurm/{f}.h5", "r") as fa, h5py.File(f"direct/{f}.h5", "r") as fb:
        a, b = fa[obj], fb[obj]
        for k in ("kspill_stage", "kspill_settings", "kspill_version"):
            if a.attrs[k] != b.attrs[k]:
                sys.exit(f"{f}.h5 {k}: {a.attrs[k]!r} != {b.attrs[k]!r}")
PY
ok "the outputs of the Slurm jobs equal those of mpirun -n 2 kspill run (diff, h5diff, cmp), with the same stamps"

# ---- afterwards: status, resubmission, a current stage ----
"$MPIEXEC" -n 1 "$KSPILL" status slurm.ini > status.out || fail "kspill status failed"
for s in synth ingest relatedness panel fit report; do
  grep -E -q "^$s +done " status.out || { cat status.out >&2; fail "status: $s is not done"; }
done
"$SRC/slurm/submit" slurm.ini --kspill="$KSPILL" > ids2 2> submit2.err || fail "a second slurm/submit failed"
[ ! -s ids2 ] || fail "a second slurm/submit submitted jobs: $(cat ids2)"
grep -q "nothing submitted" submit2.err || fail "a second slurm/submit did not say it submitted nothing: $(cat submit2.err)"
ok "kspill status: every stage done; a second slurm/submit submits nothing"

before=$(find slurm -type f ! -path 'slurm/slurm/*' -printf '%p %T@\n' | sort)
j=$(sbatch --parsable --ntasks=2 --output=current.out "$SRC/slurm/kspill.sbatch" --kspill="$KSPILL" fit slurm.ini)
slurm_wait_job "$j" 120 || fail "job $j did not end"
job_is "$j" COMPLETED 0:0
grep -q "fit is current (kspill status: done): nothing to run" current.out ||
  { cat current.out >&2; fail "a job for a current stage did not say so"; }
[ "$before" = "$(find slurm -type f ! -path 'slurm/slurm/*' -printf '%p %T@\n' | sort)" ] ||
  fail "a job for a current stage rewrote files"
ok "a batch job for a stage that is current runs nothing and rewrites nothing"

# ---- the mpirun launcher: the fit again, inside the allocation ----
j=$(sbatch --parsable --ntasks=2 --output=mpirun.out "$SRC/slurm/kspill.sbatch" --kspill="$KSPILL" \
      --launcher=mpirun --force fit slurm.ini)
slurm_wait_job "$j" 300 || fail "job $j did not end"
job_is "$j" COMPLETED 0:0
grep -q "2 ranks x 1 threads on localhost, mpirun" mpirun.out || { cat mpirun.out >&2; fail "not run by mpirun"; }
[ "$(find slurm/results.h5 -newer current.out)" ] || fail "--force did not rerun fit"
same_fit_outputs slurm direct
ok "--launcher=mpirun: the fit rerun by mpirun inside the allocation gives the same outputs"
