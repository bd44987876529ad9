#!/usr/bin/env bash
# Benchmark: person linkage (ptl.link_persons) on the generator's injected
# truth at about 100,000 and 1,000,000 patient records, each followed by an
# incremental day (1% of the records new or changed,
# ptl.link_persons_incremental); on the linkage worlds (ptl_synth.link_world:
# the hard profile, no NHS number or postcode at all, and the normal one);
# and on the FEBRL data sets ($FEBRL_DIR, by default ../shared/data/febrl).
# For each it prints the time, the candidate pairs compared, and pairwise
# precision, recall and F1 of ptl and of a plain deterministic match on the
# identifier (valid NHS number; FEBRL's soc_sec_id) on the same records in
# the same run.
#   bench/link.sh [record scales...]      default: 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=2GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    -o maintenance_work_mem=512MB -o synchronous_commit=off -o max_wal_size=8GB \
    bash bench/link-in-cluster.sh "${@:-100000 1000000}"
