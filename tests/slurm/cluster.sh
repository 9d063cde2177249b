# tests/slurm/cluster.sh - a real one-node Slurm cluster on localhost for the
# tests: munged, slurmctld and slurmd, run as root without systemd, every file
# of theirs (key, socket, configuration, state, spool, logs, PID files) in one
# scratch folder.  Source it, then:
#
#   slurm_cluster_start DIR   # start the three daemons; exports SLURM_CONF;
#                             # stops them again on EXIT (trap), whatever happens
#   slurm_at_exit CMD         # also run CMD on EXIT, before the daemons stop
#   slurm_cluster_stop        # cancel what is left, stop the daemons by PID
#   slurm_wait_job ID [S]     # wait until job ID has left the queue (S seconds at most)
#   slurm_job_field ID FIELD  # a field of `scontrol show job` (JobState, ExitCode, ...)
#
# The configuration is tests/slurm/slurm.conf.in; the recipe and what was
# measured with it are in docs/slurm.md ("A cluster on one machine").  The ports
# are free ones picked at start, so two clusters (two test runs) can coexist, and
# the munge socket is the folder's own: the system's munged and slurm (if any)
# are neither used nor disturbed.

SLURM_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SLURM_W=""
SLURM_AT_EXIT=()

slurm_log() { echo "slurm-cluster: $*" >&2; }

# a free TCP port on localhost (bound and released: good enough for a test)
_slurm_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _slurm_stop_pid FILE SECONDS: SIGTERM the process whose PID FILE holds, wait
# for it to go, SIGKILL it after SECONDS
_slurm_stop_pid() {
  local f=$1 limit=$2 p i
  [ -s "$f" ] || return 0
  p=$(cat "$f" 2>/dev/null) || return 0
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
  slurm_log "PID $p ($f) did not stop in $limit s: SIGKILL"
  kill -9 "$p" 2>/dev/null || true
}

slurm_cluster_start() {
  local w=$1 m node ctld_port slurmd_port i
  command -v slurmctld >/dev/null && command -v munged >/dev/null ||
    { echo "CHECK FAILED: slurmctld/munged not installed (scripts/setup installs slurm-wlm and munge)" >&2; return 1; }
  # munged and the Slurm daemons run as root: root only
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: a Slurm cluster on localhost needs root" >&2; exit 77; }
  mkdir -p "$w"
  SLURM_W=$(cd "$w" && pwd)
  w=$SLURM_W
  trap '_slurm_on_exit' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # munge, as root with a root-owned key (0600), like the Slurm daemons.
  # munged wants every folder above its socket a+x, which a work folder under
  # `mktemp -d` (mode 0700) is not: its folder is a fresh one under /tmp,
  # removed when the cluster stops
  mkdir -p "$w/slurm/state" "$w/slurm/spool" "$w/slurm/log" "$w/slurm/run"
  SLURM_MUNGE=$(mktemp -d /tmp/kspill-munge.XXXXXX)
  m=$SLURM_MUNGE
  chmod 755 "$m"
  mungekey --create --keyfile="$m/munge.key"
  chmod 600 "$m/munge.key"
  munged --key-file="$m/munge.key" --socket="$m/munge.sock" --pid-file="$m/munged.pid" \
    --log-file="$m/munged.log" --seed-file="$m/munged.seed" </dev/null >>"$m/start.log" 2>&1 ||
    { cat "$m/start.log" "$m/munged.log" >&2; return 1; }
  munge -S "$m/munge.sock" -n | unmunge -S "$m/munge.sock" >/dev/null ||
    { echo "CHECK FAILED: munge does not work" >&2; return 1; }

  # the node's line as slurmd sees the machine, under the name localhost
  node=$(slurmd -C | sed -n '1s/^NodeName=[^ ]*/NodeName=localhost/p')
  ctld_port=$(_slurm_free_port)
  slurmd_port=$(_slurm_free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(_slurm_free_port); done
  : > "$w/slurm/plugstack.conf"
  sed -e "s|@W@|$w|g" -e "s|@CTLD_PORT@|$ctld_port|" -e "s|@SLURMD_PORT@|$slurmd_port|" \
      -e "s|@MUNGE@|$m|" -e "s|@NODE@|$node|" -e "s|@CRED_EXPIRE@|${SLURM_TEST_CRED_EXPIRE:-10}|" "$SLURM_TEST_DIR/slurm.conf.in" > "$w/slurm/slurm.conf"
  export SLURM_CONF=$w/slurm/slurm.conf

  slurmctld -f "$SLURM_CONF" </dev/null >>"$w/slurm/log/start.log" 2>&1 ||
    { cat "$w/slurm/log/start.log" "$w/slurm/log/slurmctld.log" >&2; return 1; }
  slurmd -f "$SLURM_CONF" -N localhost </dev/null >>"$w/slurm/log/start.log" 2>&1 ||
    { cat "$w/slurm/log/start.log" "$w/slurm/log/slurmd.log" >&2; return 1; }
  for ((i = 0; i < 300; i++)); do
    [ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ] && { slurm_log "up in $w (slurmctld port $ctld_port)"; return 0; }
    sleep 0.1
  done
  echo "CHECK FAILED: the Slurm node did not become idle in 30 s" >&2
  tail -n 20 "$w/slurm/log/slurmctld.log" "$w/slurm/log/slurmd.log" >&2
  return 1
}

slurm_at_exit() { SLURM_AT_EXIT+=("$1"); }

_slurm_on_exit() {
  local cmd
  set +e # clean up all the way, whatever fails
  for cmd in ${SLURM_AT_EXIT[@]+"${SLURM_AT_EXIT[@]}"}; do eval "$cmd" || true; done
  SLURM_AT_EXIT=()
  slurm_cluster_stop
}

# Cancel every job left (a test that failed half-way), give slurmd the time to
# end their processes, then stop slurmd, slurmctld and munged by their PIDs.
slurm_cluster_stop() {
  local w=$SLURM_W i
  [ -n "$w" ] || return 0
  SLURM_W=""
SLURM_AT_EXIT=()
  if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
    # shellcheck disable=SC2046 # one argument per job id
    scancel --full $(squeue -h -o %A 2>/dev/null | sort -u) 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  _slurm_stop_pid "$w/slurm/run/slurmd.pid" 20
  _slurm_stop_pid "$w/slurm/run/slurmctld.pid" 30
  if [ -n "${SLURM_MUNGE:-}" ]; then
    _slurm_stop_pid "$SLURM_MUNGE/munged.pid" 10
    cp "$SLURM_MUNGE/munged.log" "$w/slurm/log/" 2>/dev/null || true
    rm -rf "$SLURM_MUNGE"
    SLURM_MUNGE=""
  fi
  slurm_log "stopped (logs in $w/slurm/log)"
  return 0
}

# slurm_job_field ID FIELD: e.g. JobState (PENDING, RUNNING, COMPLETED, FAILED,
# TIMEOUT, CANCELLED), ExitCode (status:signal), Restarts, Reason
slurm_job_field() {
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | awk 'NR == 1'
}

# slurm_wait_job ID [SECONDS]: until no task of job ID (an array too) is in the
# queue; 1 when still there after SECONDS (default 300)
slurm_wait_job() {
  local id=$1 limit=${2:-300} i
  for ((i = 0; i < limit * 4; i++)); do
    [ -z "$(squeue -h -j "$id" -o %i 2>/dev/null)" ] && return 0
    sleep 0.25
  done
  return 1
}
