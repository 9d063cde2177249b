#!/usr/bin/env bash
# A fit interrupted by a signal (SIGUSR1, as Slurm's time-limit warning, and
# SIGTERM to the ranks, as scancel) stops after its current Newton iteration with exit
# status 75, leaves WORKDIR/fit.checkpoint and no results.h5, and a second
# run resumes from the checkpoint to results bit-for-bit those of a run that
# was never interrupted (every estimate, SE, margin, loglik and the
# iteration counts, through KS_FIT_DUMP).
. "$(dirname "$0")/lib.sh"
REF="$SRC/tests/ref/fit_reference.py"
X="density_firm, density_city, density_firm*density_city, tradevalue, newexport"
mkdir -p ref
"$PY" "$REF" simulate ref/panel.h5 --rows 1000000 --seed 5
job() { # job WORKDIR: six models, so a signal always finds a later safe point
  printf '[job]\nworkdir = %s\n' "$1"
  for m in 1 2 3 4 5 6; do
    printf '[model.m%s]\ny = export\nx = %s\nfe = year, industry\n' $m "$X"
    case $m in 2) echo "se = robust";; 3) echo "margins = ame_paper, ame";; 4) echo "link = logit";;
                5) echo "se = cluster";; 6) echo "where = year >= 2006";; esac
  done
}
job ref > ref.ini
KS_FIT_DUMP=$PWD/ref.txt OMP_NUM_THREADS=1 run 2 fit ref.ini > /dev/null

for sig in USR1 TERM; do
  d=int_$sig
  mkdir -p $d && ln -sf "$PWD/ref/panel.h5" $d/panel.h5
  job $d > $d.ini
  log=$PWD/$d.log
  OMP_NUM_THREADS=1 "$MPIEXEC" -n 2 "$KSPILL" fit $d.ini > "$log" 2>&1 &
  pid=$!
  for i in $(seq 1 600); do grep -q "iteration 1" "$log" && break; sleep 0.05; done
  grep -q "iteration 1" "$log" || { cat "$log"; fail "fit printed no iteration line"; }
  # USR1 to mpirun, which passes it on (as srun passes on Slurm's warning);
  # TERM to the ranks themselves, as scancel signals every process of a job
  # (mpirun would end the job on it instead)
  if [ $sig = USR1 ]; then kill -USR1 $pid; else kill -TERM $(pgrep -P $pid); fi
  rc=0; wait $pid || rc=$?
  [ $rc -eq 75 ] || { cat "$log"; fail "SIG$sig: exit status $rc, want 75"; }
  grep -q "interrupted: fit stopped by a signal" "$log" || fail "SIG$sig: no interruption message"
  [ -s $d/fit.checkpoint ] || fail "SIG$sig: no checkpoint"
  [ ! -e $d/results.h5 ] || fail "SIG$sig: results.h5 exists after an interrupted fit"
  ls -a $d | grep -q partial && fail "SIG$sig: a temporary file was left: $(ls -a $d)"
  where=$(grep -o "after iteration [0-9]* of model m[0-9]\|after model m[0-9]" "$log" | head -1)
  KS_FIT_DUMP=$PWD/$d.txt OMP_NUM_THREADS=1 run 2 fit $d.ini > $d.resume.log 2>&1 \
    || { cat $d.resume.log; fail "SIG$sig: the resumed fit failed"; }
  [ ! -e $d/fit.checkpoint ] || fail "SIG$sig: the checkpoint outlived the fit"
  cmp -s ref.txt $d.txt || fail "SIG$sig: the resumed results differ from the uninterrupted run"
  ok "SIG$sig: stopped $where with exit 75 and a checkpoint; resumed to identical results"
done

# one model per process, as the tasks of a Slurm job array, then the fit of
# the whole job: it finds every model done and writes the same results
d=array
mkdir -p $d && ln -sf "$PWD/ref/panel.h5" $d/panel.h5
job $d > $d.ini
for m in 1 2 3 4 5 6; do
  OMP_NUM_THREADS=1 run 2 fit $d.ini --model m$m > /dev/null 2>&1 || fail "fit --model m$m failed"
  [ -s $d/fit.checkpoint.m$m ] || fail "fit --model m$m recorded nothing"
done
[ ! -e $d/results.h5 ] || fail "fit --model wrote results.h5"
KS_FIT_DUMP=$PWD/$d.txt OMP_NUM_THREADS=1 run 2 fit $d.ini > $d.log 2>&1 || { cat $d.log; fail "the fit after the array failed"; }
ls $d | grep -q checkpoint && fail "checkpoints left after the fit: $(ls $d)"
cmp -s ref.txt $d.txt || fail "fit --model per model, then fit: results differ from one fit"
ok "fit --model for each model (job-array tasks), then fit: identical results, checkpoints removed"
