#!/usr/bin/env bash
# The rooms' one-way order (docs/architecture.md, "Rooms and the way
# dependencies run"): scripts/dependencies --check passes on the tree, and
# fails, naming it, on a reference against the order that is not in
# test/dependency_debt.txt, on a listed one that is gone, and on a Makefile
# that assembles a room's file after a later room's (run on a copy with
# each fault planted).  Needs no database; prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."
copy=$(mktemp -d /tmp/ptl_dependencies.XXXXXX)
trap 'rm -rf "$copy"' EXIT
echo "1..4"

if out=$(scripts/dependencies --check 2>&1); then
    echo "ok 1 - every reference against the order is listed in test/dependency_debt.txt ($out)"
else
    echo "not ok 1 - scripts/dependencies --check failed"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

plant() {   # a fresh copy of what the check reads
    rm -rf "${copy:?}"/*
    mkdir -p "$copy/scripts" "$copy/test"
    cp -r Makefile src "$copy/"
    cp scripts/dependencies "$copy/scripts/"
    cp test/dependency_debt.txt "$copy/test/"
}

# the model (rank 1) naming the RTT engine's periods (rank 4): against the order
plant
printf 'CREATE VIEW ptl.planted AS SELECT count(*) FROM ptl.rtt_period;\n' >> "$copy/src/model/model.sql"
if out=$("$copy/scripts/dependencies" --check 2>&1); then
    echo "not ok 2 - a planted reference from model to rtt passed the check"
elif printf '%s\n' "$out" | grep -q 'src/model/model.sql -> ptl.rtt_period (rtt)'; then
    echo "ok 2 - a planted reference from model to rtt fails the check, named"
else
    echo "not ok 2 - the check failed without naming the planted reference"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

# a listed reference that no longer holds: the list must shrink with the code
plant
echo 'src/rtt/ptl.sql -> ptl.planted_gone (ops)' >> "$copy/test/dependency_debt.txt"
if out=$("$copy/scripts/dependencies" --check 2>&1); then
    echo "not ok 3 - a listed reference that is gone passed the check"
elif printf '%s\n' "$out" | grep -q 'gone' && printf '%s\n' "$out" | grep -q 'ptl.planted_gone'; then
    echo "ok 3 - a listed reference that is gone fails the check, named"
else
    echo "not ok 3 - the check failed without naming the gone reference"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

# the Makefile assembling a file of the model after the access room's
plant
sed -i 's|src/model/waiting_list.sql \\|src/access/access.sql \\|; 0,/src\/access\/access.sql \\/! s|src/access/access.sql \\|src/model/waiting_list.sql \\|' "$copy/Makefile"
if out=$("$copy/scripts/dependencies" --check 2>&1); then
    echo "not ok 4 - a Makefile out of the rooms' order passed the check"
elif printf '%s\n' "$out" | grep -q 'src/model/waiting_list.sql (model) after src/access/access.sql (access)'; then
    echo "ok 4 - a Makefile that assembles the model after access fails the check, named"
else
    echo "not ok 4 - the check failed without naming the file out of order"
    printf '%s\n' "$out" | sed 's/^/# /'
fi
