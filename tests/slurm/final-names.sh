#!/usr/bin/env bash
# final-names.sh DIR REPORT: watch DIR while a job writes into it and check
# that no file under a final name is ever partial.  kspill writes every output
# under a hidden temporary name (.NAME.partial, .NAME.tmp) and renames it when
# complete (docs/pipeline.md), so every file whose name does not start with a
# dot must be whole whenever it is seen: an HDF5 file opens (h5dump -H), a
# PNG ends with its IEND chunk, any other file (CSV, tables, fingerprint.txt,
# fit.checkpoint, SVG, HTML, gnuplot scripts) is not empty and ends with a
# newline.  DIR/slurm, the batch jobs' logs, which grow, is left out.
#
# Runs until SIGTERM, checking every 0.2 s each file it has not seen yet (by
# inode, size and time); a file that fails is checked again once, 0.5 s later
# (an HDF5 file is closed before its rename, so a failure is real).  Appends
# "PARTIAL: ..." lines to REPORT, then "checked N versions of M files in R rounds".
set -u
dir=$1 report=$2
declare -A seen=()
rounds=0 versions=0 stop=0
declare -A names=()
trap 'stop=1' TERM INT

whole() { # whole FILE: 0 when FILE is a complete output
  case $1 in
    *.h5) h5dump -H "$1" >/dev/null 2>&1 ;;
    *.png) [ "$(tail -c8 "$1" | od -An -tx1 | tr -d ' \n')" = 49454e44ae426082 ] ;;
    *) [ -s "$1" ] && [ "$(tail -c1 "$1" | od -An -tx1 | tr -d ' ')" = 0a ] ;;
  esac
}

while [ "$stop" = 0 ]; do
  rounds=$((rounds + 1))
  while IFS=' ' read -r ino size mtime path; do
    key="$ino $size $mtime"
    [ "${seen[$path]:-}" = "$key" ] && continue
    [ -e "$path" ] || continue # renamed or removed since find saw it
    if ! whole "$path"; then
      sleep 0.5
      # the same version still there and still not whole: a partial file
      if [ -e "$path" ] && [ "$(find "$path" -maxdepth 0 -printf '%i %s %T@' 2>/dev/null)" = "$key" ] && ! whole "$path"; then
        echo "PARTIAL: $path ($size bytes) is not a complete file" >> "$report"
      fi
    fi
    seen[$path]=$key
    names[$path]=1
    versions=$((versions + 1))
  done < <(find "$dir" -path "$dir/slurm" -prune -o -type f ! -name '.*' -printf '%i %s %T@ %p\n' 2>/dev/null)
  sleep 0.2
done
echo "checked $versions versions of ${#names[@]} files in $rounds rounds" >> "$report"
