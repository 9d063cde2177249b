#!/usr/bin/env bash
# A Slurm job killed with scancel in the middle of fit, on a real one-node
# cluster (tests/slurm/cluster.sh): the four models of the job run as a job
# array (kspill fit --model NAME per task); scancel of the array while a task
# is iterating stops the running tasks at a safe point (exit status 75, the
# model's checkpoint saved, no temporary file left), and Slurm cancels the fit
# job that depended on the array.  slurm/submit again resumes: the array, then
# the fit that collects the models, end with results bit-for-bit those of a
# direct `mpirun kspill fit` that was never interrupted, and no partial file is
# ever under a final name.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/slurm/cluster.sh"
. "$SRC/tests/slurm/checks.sh"
REF="$SRC/tests/ref/fit_reference.py"
X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"

# job WORKDIR: a fit alone on WORKDIR/panel.h5.  tolerance = 1e-300 keeps
# Newton going to max_iterations (every model is reported not converged): a
# fit that lasts seconds on a small panel, with a safe point every iteration
job() {
  printf '[job]\nname = scancel\nworkdir = %s\n[fit]\ntolerance = 1e-300\nmax_iterations = 150\n' "$1"
  printf '[slurm]\nntasks = 1\ntime = 10\n'
  for m in 1 2 3 4; do
    printf '[model.m%s]\nx = %s\nfe = year, industry\n' $m "$X"
    case $m in 2) echo "link = logit";; 3) echo "se = robust";; 4) echo "where = year >= 2006";; esac
  done
}

slurm_cluster_start "$WORK/cluster"
mkdir -p direct slurm
"$PY" "$REF" simulate direct/panel.h5 --rows 1000000 --seed 21
ln direct/panel.h5 slurm/panel.h5
job direct > direct.ini
job slurm > slurm.ini

t0=$SECONDS
OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 "$KSPILL" -q fit direct.ini > direct.out 2> direct.err ||
  { cat direct.err >&2; fail "the direct fit failed"; }
ok "direct mpirun -n 2 kspill fit: 4 models x 150 iterations on 10^6 rows in $((SECONDS - t0)) s"

# ---- submit, scancel the array while model m1 iterates ----
watch_final_names slurm
"$SRC/slurm/submit" slurm.ini --kspill="$KSPILL" --stages=fit > ids 2> submit.err ||
  { cat submit.err >&2; fail "slurm/submit failed"; }
[ "$(cut -d' ' -f1 ids | tr '\n' ' ')" = "models fit " ] || fail "slurm/submit printed $(cat ids)"
id() { awk -v s="$1" '$1 == s { print $2 }' ids; }
models=$(id models) fit=$(id fit)
log0=slurm/slurm/models-${models}_0.out
wait_for_line "$log0" "fit: model m1: iteration 20," 120
scancel "$models"
slurm_wait_job "$models" 60 || fail "the array did not end after scancel"
slurm_wait_job "$fit" 60 || fail "the fit job did not end after its dependency failed"
sleep 1
job_is "$fit" CANCELLED
[ "$(slurm_job_field "$fit" Reason)" = DependencyNeverSatisfied ] ||
  fail "fit job $fit: Reason=$(slurm_job_field "$fit" Reason), expected DependencyNeverSatisfied"
grep -q "kspill: interrupted: fit stopped by a signal after iteration [0-9]* of model m1" "$log0" ||
  { cat "$log0" >&2; fail "task 0 did not stop at a safe point of model m1"; }
grep -q "fit of model m1 interrupted, its state saved (exit status 75)" "$log0" ||
  { cat "$log0" >&2; fail "the batch script of task 0 did not see exit status 75"; }
grep -q "requeued" "$log0" && fail "a job stopped by scancel was requeued"
[ -s slurm/fit.checkpoint.m1 ] || fail "no checkpoint of model m1"
[ ! -e slurm/results.h5 ] || fail "results.h5 exists after scancel"
leftover=$(find slurm -name '.*' -type f)
[ -z "$leftover" ] || fail "temporary files left after the stop: $leftover"
stopped_at=$(grep -o "after iteration [0-9]* of model m1" "$log0")
ok "scancel of array job $models: task 0 stopped $stopped_at (exit status 75), checkpoint saved, no temporary file left; fit job $fit cancelled (DependencyNeverSatisfied)"

# ---- submit again: resumes ----
"$SRC/slurm/submit" slurm.ini --kspill="$KSPILL" --stages=fit > ids2 2> submit2.err ||
  { cat submit2.err >&2; fail "the second slurm/submit failed"; }
models2=$(awk '$1 == "models" { print $2 }' ids2) fit2=$(awk '$1 == "fit" { print $2 }' ids2)
[ -n "$models2" ] && [ -n "$fit2" ] || fail "the second slurm/submit printed $(cat ids2)"
slurm_wait_job "$fit2" 300 || fail "the resubmitted jobs did not end"
array_is "$models2" COMPLETED 0:0 4
job_is "$fit2" COMPLETED 0:0
log0=slurm/slurm/models-${models2}_0.out
grep -q "fit: resuming from .*fit.checkpoint.m1 (1 model(s) recorded)" "$log0" ||
  { cat "$log0" >&2; fail "task 0 did not resume from the checkpoint of m1"; }
first=$(sed -n 's/.*fit: model m1: iteration \([0-9]*\),.*/\1/p' "$log0" | awk 'NR == 1')
[ "$first" -gt 1 ] || fail "the resumed m1 started again at iteration $first"
final_names_ok slurm
same_fit_outputs slurm direct
ls slurm/fit.checkpoint* > /dev/null 2>&1 && fail "checkpoints left after the fit: $(ls slurm/fit.checkpoint*)"
ok "slurm/submit again: m1 resumed at iteration $first; results.h5, estimates.csv and tables/ equal the uninterrupted fit's"
