#!/usr/bin/env bash
# The weekly pack rendered by a browser: a generated ICS (refreshed, with
# weekly snapshots, theatre lists and proposals, spells and a bed base) makes
# its pack, for the ICS and for one trust, and headless Chromium shows each:
# the screenshot is not blank and every chart drew (test/pack/check-render).
# Skipped, saying so, when Chromium is not installed.  Runs inside
# scripts/test's throwaway cluster; prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=ptl_pack_render

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    echo "1..0 # SKIP chromium is not installed (apt-get install chromium to render the weekly pack)"
    exit 0
fi

out=$(mktemp -d /tmp/ptl_pack_render.XXXXXX)
trap 'rm -rf "$out"; dropdb --if-exists $db' EXIT
q() { psql -qAtX -v ON_ERROR_STOP=1 -d $db -c "$1"; }

createdb $db
q "CREATE EXTENSION ptl; CREATE EXTENSION ptl_synth"
q "SELECT count(*) FROM ptl_synth.generate(3000, seed => 7) b, ptl.load(b)" >/dev/null
q "CALL ptl.refresh('2025-03-31')"
q "SELECT ptl.backfill_census_snapshots('2025-01-06', '2025-03-24')" >/dev/null
q "SELECT count(*) FROM ptl_synth.theatres(7) b, ptl.load(b) l" >/dev/null
q "CALL ptl.propose_theatre_lists('2025-04-01', '2025-05-11')"
q "SELECT count(*) FROM ptl_synth.beds(7)" >/dev/null
q "SELECT count(*) FROM ptl.batch b, ptl.load(b.batch_id) WHERE b.status = 'ready'" >/dev/null
trust=$(q "SELECT min(org_code) FROM ptl.organisation WHERE org_kind = 'nhs_trust'")

results=$out/results
: > "$results"
for scope in ics "$trust"; do
    if [ "$scope" = ics ]; then arg=NULL; else arg="'$scope'"; fi
    q "SELECT ptl.weekly_pack('2025-03-31', $arg)" > "$out/pack-$scope.html"
    test/pack/check-render "$out/pack-$scope.html" "$out/$scope" | sed "s/^\(ok\|not ok\) - /\1 - $scope: /" >> "$results" || true
done
cat "$results"
echo "1..$(grep -c '^\(ok\|not ok\) ' "$results")"
! grep -q '^not ok' "$results"
