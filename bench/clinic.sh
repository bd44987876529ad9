#!/usr/bin/env bash
# Benchmark: clinic slot allocation.  Seeded instances (ptl_synth.clinic_instance)
# are solved by ptl.allocate_clinic and by the same problem written as a MIP
# (eligibility, one patient a slot, and the no-inversion rule;
# ptl_synth.clinic_lp) solved by CBC from Debian, in the same run.  For each
# instance it prints patients booked, inversions and times for both, and the
# ratio; then ptl alone at the issue's scale (5,000 sessions x 50,000
# patients), where the time is the target (see bench/README.md).
#   bench/clinic.sh [mip_seconds]        (default 120 per instance)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
install_dependencies
# CBC (EPL-2.0) only for this benchmark: ptl never links to a solver.
command -v cbc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q coinor-cbc >/dev/null
build_and_install "-O2"
pg_virtualenv -v 15 -o shared_buffers=1GB -o work_mem=256MB -o max_parallel_workers_per_gather=0 \
    bash bench/clinic-in-cluster.sh "${1:-120}"
