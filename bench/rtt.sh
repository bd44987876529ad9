#!/usr/bin/env bash
# Benchmark: the RTT clock for every pathway of N generated referrals
# (default 1,000,000) with ptl's bulk aggregate (C) and with the same rules
# in plain SQL (window functions, bench/rtt-baseline.sql), on the same events
# in the same run; checks both agree row for row and prints both times, the
# ratio and the C path's events per second.
#   bench/rtt.sh [referrals]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o maintenance_work_mem=512MB -o synchronous_commit=off \
    bash bench/rtt-in-cluster.sh "${1:-1000000}"
