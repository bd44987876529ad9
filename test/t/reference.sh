#!/usr/bin/env bash
# docs/reference.md is generated from the catalogue by scripts/reference:
# regenerate it from a fresh install and fail when the committed file
# differs, so that a changed function, comment or SQLSTATE cannot leave the
# reference behind.  Runs inside scripts/test's throwaway cluster (a
# superuser connection in the PG* variables); prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp /tmp/ptl_reference_test.XXXXXX)
trap 'rm -f "$out"' EXIT
echo "1..2"

if scripts/reference -o "$out" 2>"$out.err"; then
    echo "ok 1 - scripts/reference writes the reference from a fresh install"
else
    echo "not ok 1 - scripts/reference failed"
    sed 's/^/# /' "$out.err"
fi
rm -f "$out.err"

if [ -s "$out" ] && diff -u docs/reference.md "$out" >"$out.diff"; then
    echo "ok 2 - docs/reference.md is the catalogue's reference"
else
    echo "not ok 2 - docs/reference.md differs from the catalogue: run scripts/reference to regenerate"
    head -40 "$out.diff" | sed 's/^/# /'
fi
rm -f "$out.diff"
