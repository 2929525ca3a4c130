#!/bin/sh
# run-all.sh — run every time point of a Kiln experiment on one workstation with GNU parallel,
# one kiln-cli process per time point, then merge the results (docs/batch.md).
#
#     contrib/parallel/run-all.sh EXPERIMENT_DIR [JOBS [THREADS_PER_JOB]]
#
# JOBS processes run at once (default 2), each with THREADS_PER_JOB OpenMP threads (default:
# the number of cores / JOBS). Memory per process is dominated by the ISER volume and its TV
# gradient (2 × X × Y × Z × 4 bytes: ~8.6 GB at 1024² with Z = 1024); choose JOBS accordingly. GNU parallel's job log goes to EXPERIMENT_DIR/parallel.log; a
# failed time point does not stop the others, and the merge always runs. Run the script again
# after a failure: finished steps are skipped (content hash).
#
# Environment: KILN_CLI (default: kiln-cli on PATH), KILN_STEPS (default: all steps).
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -eu

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
experiment=$1
jobs=${2:-2}
cores=$(nproc 2>/dev/null || echo 2)
threads=${3:-$(( cores / jobs > 0 ? cores / jobs : 1 ))}
kiln_cli=${KILN_CLI:-kiln-cli}

if [ ! -f "$experiment/experiment.json" ]; then
  echo "run-all: $experiment/experiment.json not found" >&2
  exit 1
fi
command -v parallel >/dev/null 2>&1 || { echo "run-all: GNU parallel is not installed" >&2; exit 1; }
n=$(grep -o '"tilts"[[:space:]]*:' "$experiment/experiment.json" | wc -l)

status=0
seq 1 "$n" | parallel --jobs "$jobs" --halt never --joblog "$experiment/parallel.log" \
  --tagstring 'tp{}' "$kiln_cli" run "$experiment" --time-point '{}' --threads "$threads" \
  ${KILN_STEPS:+--steps "$KILN_STEPS"} || status=$?

"$kiln_cli" run "$experiment" --merge-only
if [ "$status" -ne 0 ]; then
  echo "run-all: $status time point(s) failed; see $experiment/parallel.log and tpNN/run.log" >&2
fi
exit "$status"
