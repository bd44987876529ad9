#!/usr/bin/env bash
# Benchmark: load N generated referrals (default 1,000,000) through the staging
# path with ptl.load(), and the same staged rows with a plain INSERT ... SELECT
# that validates in SQL (regular expressions, a SQL Modulus 11, code lists,
# joins for parents); then the floor: the rows ptl.load() wrote, written again
# into the same emptied tables by a bare INSERT ... SELECT (no validation).
# Same data, same cluster, same run; prints rows/second for the three and the
# ratios ptl/baseline and ptl/floor.
#   bench/load.sh [referrals]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o max_wal_size=8GB -o work_mem=256MB \
    -o maintenance_work_mem=512MB -o synchronous_commit=off \
    bash bench/load-in-cluster.sh "${1:-1000000}"
