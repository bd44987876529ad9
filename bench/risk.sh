#!/usr/bin/env bash
# Benchmark: score and order N seeded waiting-list entries (default
# 1,000,000) with ptl (the C scores and ptl.target_elapsed) and with the same
# scores and order in plain SQL (ptl_synth's *_sql functions, numeric
# fractions), on the same rows in the same run; checks both agree and prints
# both times and the ratio.
#   bench/risk.sh [entries]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=1GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o synchronous_commit=off \
    bash bench/risk-in-cluster.sh "${1:-1000000}"
