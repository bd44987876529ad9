#!/usr/bin/env bash
# Benchmark: the cost of running ptl safely.  On the same synthetic ICS, in
# the same run:
#   - the daily refresh (close batches, CALL ptl.daily_refresh: run log,
#     lock, staging guard, load, refresh, retention) against the baseline of
#     the same work called directly (ptl.load per batch, then ptl.refresh),
#     each in a database of its own generated from the same seed;
#   - the same daily refresh run by an administrator's login (a member of
#     ptl_admin: not a superuser, not the tables' owner, so row-level
#     security applies and ANALYZE needs ptl.analyze_if_grown) against the
#     superuser's, on a third copy of the same data;
#   - reading the PTL and the clock table under row-level security, as a
#     trust's reader and as the ICS's reader, against the table owner who
#     bypasses it.
#   bench/ops.sh [referrals]     default 100000
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=1GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    bash bench/ops-in-cluster.sh "${1:-100000}"
