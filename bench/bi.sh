#!/usr/bin/env bash
# Benchmark: what a BI tool waits for.  On N generated referrals (default
# 1,000,000), loaded and refreshed, times as the ICS's reader and as a
# trust's reader (row-level security on): one provider's largest treatment
# function list and its median-sized one, in list order, every column; one
# patient's row by pathway; and the provider's headline measures; each
# against the same query on the PTL computed as it is read (test/reference/ptl_computed.sql, the view before it was
# stored at the refresh), in the same run.  Prints medians, the ratios, and
# whether both give the same rows.
#   bench/bi.sh [referrals]
# Medians of BI_RUNS runs (default 20) for the stored PTL and of
# BI_BASELINE_RUNS (default 3) for the computed one, which reads the whole ICS.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o maintenance_work_mem=512MB -o synchronous_commit=off -o max_wal_size=8GB \
    bash bench/bi-in-cluster.sh "${1:-1000000}"
