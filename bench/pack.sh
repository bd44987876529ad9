#!/usr/bin/env bash
# Benchmark: the weekly PTL pack on a large synthetic ICS (default 1,000,000
# referrals).  In the same run, on the same data:
#   - ptl.weekly_pack for the ICS and for the largest trust (goal: under 10 s
#     for 1,000,000 referrals);
#   - the baseline: the same numbers as plain SQL queries over the same
#     tables and functions, with nothing drawn (bench/pack-baseline.sql), so
#     the ratio is what drawing and assembling the document cost;
#   - the refresh's journey step, deriving every pathway's stages.
#   bench/pack.sh [referrals]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o maintenance_work_mem=512MB -o synchronous_commit=off -o max_wal_size=8GB \
    bash bench/pack-in-cluster.sh "${1:-1000000}"
