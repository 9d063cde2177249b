# Shared by the integration tests: tests/mpi/test_*.sh KSPILL SOURCE_DIR WORK_DIR
set -euo pipefail
KSPILL=$1
SRC=$2
WORK=$3
PY=/usr/bin/python3          # Debian's python3, with numpy/pandas/h5py
MPIEXEC=${MPIEXEC:-mpiexec}
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

fail() { echo "CHECK FAILED: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# run N ARGS...: kspill under MPI with N ranks
run() { local n=$1; shift; "$MPIEXEC" -n "$n" "$KSPILL" -q "$@"; }

# expect_fail STATUS PATTERN ARGS...: kspill must exit with STATUS and say PATTERN
expect_fail() {
  local want=$1 pattern=$2; shift 2
  local out status=0
  out=$("$MPIEXEC" -n 1 "$KSPILL" "$@" 2>&1) || status=$?
  [ "$status" -eq "$want" ] || fail "kspill $* exited $status, expected $want; said: $out"
  grep -q -- "$pattern" <<<"$out" || fail "kspill $* did not say '$pattern'; said: $out"
  ok "kspill $* -> exit $status: $(grep -m1 -- "$pattern" <<<"$out" | cut -c1-160)"
}

# same_h5 A B [h5diff options]: every dataset and attribute equal, but for the
# stamp of how the file was made (kspill_fingerprint, kspill_settings,
# kspill_inputs, kspill_wall_seconds, kspill_peak_rss_mb, kspill_ranks,
# kspill_threads: docs/hdf5.md), which differs between runs of the same content
# (wall time, memory, ranks and threads) or between inputs of the same content
# (file names); test_run.sh checks stamps.  A stamp sits on the root and, in
# results.h5, on the report's group /report.  h5diff 1.10 can leave out only
# all attributes of an object: the others are compared with h5py.
# With --exclude-path /report among the options (fit's part of results.h5
# alone), /report is left out of both checks.
same_h5() {
  local a=$1 b=$2 ex=(--exclude-attribute /) report=1; shift 2
  [[ " $* " == *" --exclude-path /report "* ]] && report=0
  [ $report = 1 ] && "$PY" -c 'import sys, h5py; sys.exit("report" not in h5py.File(sys.argv[1], "r"))' "$a" 2>/dev/null &&
    ex+=(--exclude-attribute /report)
  h5diff "${ex[@]}" "$@" "$a" "$b" >h5diff.out 2>&1 || { cat h5diff.out >&2; fail "$a and $b differ"; }
  "$PY" - "$a" "$b" "$report" >h5diff.out 2>&1 <<'PY' || { cat h5diff.out >&2; fail "$a and $b differ in the attributes of / or /report"; }
import sys, h5py, numpy as np
stamp = {"kspill_fingerprint", "kspill_settings", "kspill_inputs", "kspill_wall_seconds",
         "kspill_peak_rss_mb", "kspill_ranks", "kspill_threads"}
with_report = sys.argv[3] == "1"
with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
    if with_report and ("report" in fa) != ("report" in fb):
        sys.exit("one file has a group /report, the other not")
    for obj in ["/"] + (["/report"] if with_report and "report" in fa else []):
        xa, xb = fa[obj].attrs, fb[obj].attrs
        ka, kb = set(xa) - stamp, set(xb) - stamp
        if ka != kb:
            sys.exit(f"attributes of {obj} differ: {sorted(ka ^ kb)}")
        for k in sorted(ka):
            if not np.array_equal(xa[k], xb[k]):
                sys.exit(f"attribute {k} of {obj}: {xa[k]!r} != {xb[k]!r}")
PY
}

# a job file for the synthetic CSVs in DIR: tiny_job OUT DIR [extra lines]
tiny_job() {
  local out=$1 dir=$2; shift 2
  sed -e "s|^workdir = .*|workdir = $out|" \
      -e "s|^synthetic = .*|files = $dir/customs_*.csv|" "$SRC/jobs/tiny.ini" > "$out.ini"
  for line in "$@"; do echo "$line" >> "$out.ini"; done
}
