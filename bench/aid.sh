#!/usr/bin/env bash
# Benchmark: mutual aid suggestions.  Seeded instances (ptl_synth.aid_instance)
# are solved by ptl.mutual_aid_plan in both modes and, in the same run, by
# the baselines: greedy as a plain PL/pgSQL loop over the same feasible
# pairs (ptl_synth.aid_greedy), and the optimal matching as an LP solved by
# CBC from Debian (ptl_synth.aid_lp).  It prints, per size, whether the
# answers agree (the same pairs for greedy; the same wait-days served and
# days saved for optimal) and the times and their ratios.
#   bench/aid.sh            sizes from AID_BENCH_SIZES (default 1000x100 5000x500 20000x2000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
# CBC (EPL-2.0) only for this benchmark: ptl never links to a solver.
command -v cbc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q coinor-cbc >/dev/null
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=1GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    bash bench/aid-in-cluster.sh
