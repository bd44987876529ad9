#!/usr/bin/env bash
# Benchmark: the daily refresh, full and on a typical day.  N generated
# referrals (default 1,000,000; 5,000,000 shows how it grows)
# are loaded and refreshed through ptl.daily_refresh at the census; then a
# typical day (ptl_synth.next_day: 0.5% of the pathway records change, and
# a day's new referrals, half for new patients) is staged, loaded and
# refreshed through ptl.daily_refresh at the census + 1; then the baseline,
# a full refresh of the same data (ptl.daily_refresh(full => true)) at the
# same census.  Prints each run's step times, totals, the backend's peak
# memory, and the ratio of the typical day to the full refresh.
#   bench/refresh.sh [referrals]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o max_wal_size=8GB -o work_mem=256MB \
    -o maintenance_work_mem=512MB -o synchronous_commit=off -o max_locks_per_transaction=256 \
    bash bench/refresh-in-cluster.sh "${1:-1000000}"
