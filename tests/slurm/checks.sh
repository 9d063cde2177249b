# tests/slurm/checks.sh - checks shared by tests/mpi/test_slurm_*.sh, after
# tests/mpi/lib.sh (fail, ok, same_h5, $PY) and tests/slurm/cluster.sh.

# same_results A B: fit's part of results.h5 equal (the report's group
# /report left out: a rerun of fit drops it) but for the stamp (same_h5) and
# each model's `seconds` (its wall time)
same_results() {
  local a=$1 b=$2 m args=()
  for m in $("$PY" -c 'import sys, h5py; print(" ".join(h5py.File(sys.argv[1], "r")["models"]))' "$a"); do
    args+=(--exclude-attribute "/models/$m")
  done
  same_h5 "$a" "$b" "${args[@]}" --exclude-path /report
  "$PY" - "$a" "$b" <<'PY' || fail "$a and $b differ in the attributes of /models/*"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
    if sorted(fa["models"]) != sorted(fb["models"]):
        sys.exit("models differ")
    for m in fa["models"]:
        x, y = fa["models"][m].attrs, fb["models"][m].attrs
        keys = set(x) - {"seconds"}
        if keys != set(y) - {"seconds"}:
            sys.exit(f"/models/{m}: attribute names differ")
        for k in keys:
            if not np.array_equal(x[k], y[k]):
                sys.exit(f"/models/{m} {k}: {x[k]!r} != {y[k]!r}")
PY
}

# same_report A B: the groups /report of results.h5 in workdirs A and B equal
# (data and attributes, the stamp's usage and fingerprint left out)
same_report() {
  local a=$1/results.h5 b=$2/results.h5
  h5diff --exclude-attribute /report "$a" "$b" /report /report >h5diff.out 2>&1 ||
    { cat h5diff.out >&2; fail "$a:/report and $b:/report differ"; }
  "$PY" - "$a" "$b" <<'PY' || fail "$a:/report and $b:/report differ in their attributes"
import sys, h5py, numpy as np
stamp = {"kspill_fingerprint", "kspill_settings", "kspill_inputs", "kspill_wall_seconds",
         "kspill_peak_rss_mb", "kspill_ranks", "kspill_threads"}
with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
    x, y = fa["report"].attrs, fb["report"].attrs
    if set(x) - stamp != set(y) - stamp:
        sys.exit("attribute names differ")
    for k in set(x) - stamp:
        if not np.array_equal(x[k], y[k]):
            sys.exit(f"/report {k}: {x[k]!r} != {y[k]!r}")
PY
}

# same_fit_outputs A B: the fit's outputs in workdirs A and B are the same:
# results.h5 (same_results), estimates.csv and tables/ byte for byte
same_fit_outputs() {
  local a=$1 b=$2
  same_results "$a/results.h5" "$b/results.h5"
  cmp -s "$a/estimates.csv" "$b/estimates.csv" || fail "$a/estimates.csv and $b/estimates.csv differ"
  diff -r "$a/tables" "$b/tables" > /dev/null || fail "$a/tables and $b/tables differ"
}

# watch_final_names DIR: check in the background that no partial file is ever
# under a final name in DIR (tests/slurm/final-names.sh), until
# final_names_ok DIR stops the watcher and reads its report
watch_final_names() {
  local dir=$1
  : > "$dir.final-names"
  bash "$SRC/tests/slurm/final-names.sh" "$dir" "$dir.final-names" &
  eval "WATCHER_$(echo "$dir" | tr -c 'A-Za-z0-9\n' _)=$!"
  slurm_at_exit "kill $! 2>/dev/null"
}

final_names_ok() {
  local dir=$1 var pid
  var=WATCHER_$(echo "$dir" | tr -c 'A-Za-z0-9\n' _)
  pid=${!var}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -q '^checked' "$dir.final-names" || fail "the watcher of $dir did not report"
  if grep -q PARTIAL "$dir.final-names"; then
    cat "$dir.final-names" >&2
    fail "a partial file was under a final name in $dir"
  fi
  ok "no partial file under a final name in $dir while it was written: $(tail -n1 "$dir.final-names")"
}

# job_log ID STAGE DIR: the log of job ID (DIR/slurm/STAGE-ID.out)
job_log() { echo "$3/slurm/$2-$1.out"; }

# wait_for_line FILE PATTERN SECONDS: until FILE has a line matching PATTERN
wait_for_line() {
  local file=$1 pattern=$2 limit=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no line '$pattern' in $file after $limit s"
}

# job_is ID STATE [EXITCODE]: scontrol says JobState=STATE (and ExitCode)
job_is() {
  local id=$1 state=$2 code=${3:-} s c
  s=$(slurm_job_field "$id" JobState)
  c=$(slurm_job_field "$id" ExitCode)
  [ "$s" = "$state" ] || fail "job $id is $s (exit code $c), expected $state"
  [ -z "$code" ] || [ "$c" = "$code" ] || fail "job $id ended with exit code $c, expected $code"
}

# array_is ID STATE EXITCODE COUNT: the COUNT tasks of array job ID all ended
# in STATE with EXITCODE
array_is() {
  local id=$1 state=$2 code=$3 count=$4 states codes
  states=$(scontrol show job "$id" | tr ' ' '\n' | sed -n 's/^JobState=//p' | sort | uniq -c | awk '{ print $2 "x" $1 }' | paste -sd' ' -)
  codes=$(scontrol show job "$id" | tr ' ' '\n' | sed -n 's/^ExitCode=//p' | sort | uniq -c | awk '{ print $2 "x" $1 }' | paste -sd' ' -)
  [ "$states" = "${state}x$count" ] || fail "array job $id: tasks $states, expected ${state}x$count"
  [ "$codes" = "${code}x$count" ] || fail "array job $id: exit codes $codes, expected ${code}x$count"
}
