#!/usr/bin/env bash
# A Slurm job that runs into its --time limit with the warning signal, on a
# real one-node cluster (tests/slurm/cluster.sh): the fit job of slurm/submit
# gets SIGUSR1 from Slurm (--signal=B:USR1@90 before a 2-minute limit: at the
# first time-limit check, which slurmctld makes every 30 s), the batch script
# passes it on, kspill stops after its current Newton iteration (exit status
# 75) and the job requeues itself (same job id); each run resumes from the
# checkpoint and is warned again until the fit is done.  The job ends
# COMPLETED after at least one requeue, with results bit-for-bit those of a
# direct `mpirun kspill fit` never interrupted, and no partial file is ever
# under a final name.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/slurm/cluster.sh"
. "$SRC/tests/slurm/checks.sh"
REF="$SRC/tests/ref/fit_reference.py"
X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"

# job WORKDIR ITERATIONS MODELS: a fit job (model_array = no) on WORKDIR/panel.h5
# that lasts longer than the 30 s the warning may take: tolerance = 1e-300
# keeps Newton going to max_iterations, with a safe point every iteration
job() {
  printf '[job]\nname = timelimit\nworkdir = %s\n[fit]\ntolerance = 1e-300\nmax_iterations = %s\n' "$1" "$2"
  printf '[slurm]\nntasks = 1\ntime = 2\nsignal_seconds = 90\nrequeues = 8\nmodel_array = no\n'
  # the standard errors alternate: models that differ only in margins or
  # labels would share one estimate (ks_fit.c), and this fit must iterate
  for ((m = 1; m <= $3; m++)); do
    printf '[model.m%s]\nx = %s\nfe = year, industry\nse = %s\n' $m "$X" "$( ((m % 2)) && echo robust || echo oim)"
  done
}

slurm_cluster_start "$WORK/cluster"
mkdir -p direct slurm calib
"$PY" "$REF" simulate direct/panel.h5 --rows 2000000 --seed 22
ln direct/panel.h5 slurm/panel.h5
ln direct/panel.h5 calib/panel.h5

# as many iterations as make about 45 s on one rank of this machine now
job calib 40 1 > calib.ini
OMP_NUM_THREADS=1 "$MPIEXEC" -n 1 "$KSPILL" fit calib.ini > calib.out 2> calib.err || { cat calib.err >&2; fail "calibration fit failed"; }
t40=$(sed -n 's/.*fit: model m1: iteration 40, .*, \([0-9.]*\) s$/\1/p' calib.err)
[ -n "$t40" ] || { cat calib.err >&2; fail "no time at iteration 40"; }
iterations=$(awk -v t="$t40" 'BEGIN { n = int(45 / (t / 40)) + 1; print n < 200 ? 200 : n }')
models=$(( (iterations + 999) / 1000 ))
per_model=$(( (iterations + models - 1) / models ))
job direct "$per_model" "$models" > direct.ini
job slurm "$per_model" "$models" > slurm.ini
ok "calibration: 40 iterations in $t40 s: the fit has $models model(s) x $per_model iterations"

watch_final_names slurm
t0=$SECONDS
"$SRC/slurm/submit" slurm.ini --kspill="$KSPILL" --stages=fit > ids 2> submit.err ||
  { cat submit.err >&2; fail "slurm/submit failed"; }
fit=$(awk '$1 == "fit" { print $2 }' ids)
[ -n "$fit" ] && [ "$(wc -l < ids)" = 1 ] || fail "slurm/submit printed $(cat ids), expected one fit job"
[ "$(slurm_job_field "$fit" TimeLimit)" = 00:02:00 ] || fail "fit job $fit: TimeLimit=$(slurm_job_field "$fit" TimeLimit)"

# the uninterrupted fit, on the other core meanwhile
OMP_NUM_THREADS=1 "$MPIEXEC" -n 1 "$KSPILL" -q fit direct.ini > direct.out 2> direct.err ||
  { cat direct.err >&2; fail "the direct fit failed"; }
ok "direct mpirun -n 1 kspill fit: $models x $per_model iterations on 2x10^6 rows in $((SECONDS - t0)) s"

slurm_wait_job "$fit" 400 || fail "fit job $fit did not end in 400 s"
log=slurm/slurm/fit-$fit.out
job_is "$fit" COMPLETED 0:0
restarts=$(slurm_job_field "$fit" Restarts)
[ "$restarts" -ge 1 ] || { cat "$log" >&2; fail "fit job $fit was never requeued"; }
grep -q "SIGUSR1: the time limit is near" "$log" || fail "the batch script got no SIGUSR1"
grep -q "kspill: interrupted: fit stopped by a signal after \(iteration [0-9]* of \)\?model m[0-9]*" "$log" ||
  { cat "$log" >&2; fail "kspill did not stop at a safe point"; }
grep -q "stopped before the time limit, its state saved: requeued (1 of at most 8)" "$log" ||
  fail "the job did not requeue itself"
[ "$(grep -c "fit: resuming from fit.checkpoint" "$log")" = "$restarts" ] ||
  { cat "$log" >&2; fail "not every run after a requeue resumed from the checkpoint"; }
grep -q "TIME LIMIT" "$log" && fail "the job reached its time limit"
stops=$(sed -n 's/.*fit stopped by a signal after \(.*\); the checkpoint.*/\1/p' "$log" | paste -sd, -)
ok "fit job $fit: warned, stopped and requeued $restarts time(s) (after $stops), COMPLETED in $((SECONDS - t0)) s"

final_names_ok slurm
same_fit_outputs slurm direct
ls slurm/fit.checkpoint* > /dev/null 2>&1 && fail "checkpoints left after the fit: $(ls slurm/fit.checkpoint*)"
leftover=$(find slurm -name '.*' -type f)
[ -z "$leftover" ] || fail "temporary files left: $leftover"
ok "results.h5, estimates.csv and tables/ equal the uninterrupted fit's; no checkpoint or temporary file left"
