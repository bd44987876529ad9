#!/usr/bin/env bash
# Benchmark: mutual aid matching.  For seeded instances
# (ptl_synth.aid_instance) the feasible pairs are computed once
# (ptl.mutual_aid_pairs); then, in the same run, ptl's C matcher
# (ptl.mutual_aid_match) in both modes against the baselines on the same
# pairs: greedy as a plain PL/pgSQL loop, and the optimal matching as an LP
# solved by CBC from Debian (ptl_synth.aid_lp).  It prints whether the
# answers agree (the same pairs for greedy; the same wait-days served and
# days saved for optimal), the times and their ratios, and the time of the
# whole plan (pairs, matching and every patient's reason).
#   bench/aid.sh            sizes from AID_BENCH_SIZES (default 1000x100 5000x500 10000x1000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
# CBC (EPL-2.0) only for this benchmark: ptl never links to a solver.
command -v cbc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q coinor-cbc >/dev/null
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=1GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    bash bench/aid-in-cluster.sh
