#!/usr/bin/env bash
# Benchmark: the monthly RTT return's wide layout (ptl.rtt_return_wide, and
# the CSV extract) against the long form it pivots (ptl.rtt_return), at
# each size given (default 20,000, 100,000 and 200,000 referrals), each on
# its own generated ICS in the same cluster; also times release 0.3.0's
# pivot (test/reference/rtt_return_wide_0_3.sql) and checks that the wide
# return equals it row for row.  Prints the times and the wide/long ratio.
#   bench/return.sh [referrals ...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o maintenance_work_mem=512MB -o synchronous_commit=off \
    bash bench/return-in-cluster.sh "${@:-20000 100000 200000}"
