#!/usr/bin/env bash
# ALTER EXTENSION ptl UPDATE from every release: install the oldest release,
# put data in it, update step by step to the current version, check the data
# came through and the refresh runs, and compare the catalogue (functions
# and their markings, tables, columns, constraints, indexes, views,
# triggers, policies, privileges, comments, dumped tables) with a fresh
# install.  Runs inside scripts/test's throwaway cluster; prints TAP.
set -euo pipefail
cd "$(dirname "$0")/../.."
old=ptl_upgrade_old
new=ptl_upgrade_new
out=$(mktemp -d /tmp/ptl_upgrade.XXXXXX)
trap 'rm -rf "$out"; dropdb --if-exists $old; dropdb --if-exists $new' EXIT

q() { psql -qAtX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# Releases in order: the frozen install scripts, oldest first.
releases=$(ls releases/ptl--*.sql | sed -n 's|releases/ptl--\([0-9.]*\)\.sql$|\1|p' | sort -V)
oldest=$(echo "$releases" | head -1)
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" ptl.control)

catalogue() {
    q "$1" "
    WITH member AS (
        SELECT d.classid, d.objid FROM pg_depend d
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ptl' WHERE d.deptype = 'e')
    -- (monthly snapshot partitions are data, made by refreshes: left out)
    SELECT line FROM (
        SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) AS line FROM member m
        UNION ALL
        SELECT format('function %s kind=%s volatile=%s strict=%s parallel=%s definer=%s config=%s acl=%s def=%s comment=%s',
                      p.oid::regprocedure, p.prokind, p.provolatile, p.proisstrict, p.proparallel, p.prosecdef,
                      p.proconfig, p.proacl,
                      CASE WHEN p.prokind = 'a' THEN (SELECT a.aggtransfn || '/' || a.aggfinalfn || '/' || a.aggtranstype::regtype
                                                      FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                           ELSE md5(pg_get_functiondef(p.oid)) END,
                      obj_description(p.oid, 'pg_proc'))
        FROM pg_proc p WHERE p.pronamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
        UNION ALL
        SELECT format('relation %s kind=%s rls=%s force=%s options=%s acl=%s comment=%s view=%s',
                      c.oid::regclass, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.reloptions, c.relacl,
                      obj_description(c.oid, 'pg_class'),
                      CASE WHEN c.relkind = 'v' THEN md5(pg_get_viewdef(c.oid)) END)
        FROM pg_class c WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
          AND c.relname !~ '^census_snapshot_y[0-9]{4}m[0-9]{2}'
        UNION ALL
        SELECT format('column %s.%s #%s %s notnull=%s default=%s identity=%s acl=%s comment=%s',
                      c.oid::regclass, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attacl, col_description(c.oid, a.attnum))
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
        WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'c')
          AND c.relname !~ '^census_snapshot_y[0-9]{4}m[0-9]{2}'
        UNION ALL
        SELECT format('constraint %s %s %s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid))
        FROM pg_constraint co WHERE co.connamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
          AND co.conrelid::regclass::text !~ '^ptl.census_snapshot_y[0-9]{4}m[0-9]{2}'
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace)
          AND c.relname !~ '^census_snapshot_y[0-9]{4}m[0-9]{2}'
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace IN ('ptl'::regnamespace, 'ptl_internal'::regnamespace, 'ptl_stage'::regnamespace) AND NOT t.tgisinternal
        UNION ALL
        SELECT format('policy %s %s %s %s using=%s check=%s', p.polrelid::regclass, p.polname, p.polcmd, p.polroles,
                      pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p
        UNION ALL
        SELECT format('type %s %s %s comment=%s', t.oid::regtype, t.typtype,
                      (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                      obj_description(t.oid, 'pg_type'))
        FROM pg_type t WHERE t.typnamespace = 'ptl'::regnamespace AND t.typtype IN ('b', 'e', 'd')
          AND t.typname !~ '^_census_snapshot_y[0-9]{4}m[0-9]{2}'
        UNION ALL
        SELECT format('operator %s', o.oid::regoperator) FROM pg_operator o WHERE o.oprnamespace = 'ptl'::regnamespace
        UNION ALL
        SELECT format('schema %s acl=%s comment=%s', n.nspname, n.nspacl, obj_description(n.oid, 'pg_namespace'))
        FROM pg_namespace n WHERE n.nspname IN ('ptl', 'ptl_internal', 'ptl_stage')
        UNION ALL
        SELECT format('dumped %s %s', x.t::regclass, x.c)
        FROM pg_extension e, unnest(e.extconfig, e.extcondition) x(t, c) WHERE e.extname = 'ptl') lines
    ORDER BY line"
}

echo "1..9"

# The oldest release, with a generated ICS loaded and refreshed in it.
createdb $old
q $old "CREATE EXTENSION ptl VERSION '$oldest'; CREATE EXTENSION ptl_synth"
q $old "SELECT count(*) FROM ptl_synth.generate(2000, seed => 5) b, ptl.load(b)" >/dev/null
q $old "CALL ptl.refresh('2025-03-31')"
q $old "SELECT ptl.backfill_census_snapshots('2025-02-24', '2025-02-24')" >/dev/null
# (the columns 0.4.0 added to the snapshot are left out: the old rows have none)
before=$(q $old "SELECT count(*) || '/' || md5(string_agg(x::text, '|' ORDER BY x::text)) FROM ptl.census_snapshot s, LATERAL (SELECT to_jsonb(s) - '{triage_priority,consultant_code}'::text[]) v (x)")
# (The admitted list's places; the non-admitted list is ordered by referral
# priority from 0.4.0, docs/risk.md, so its places may move.)
ptl_fingerprint="SELECT count(*) || '/' || md5(string_agg(format('%s %s %s', pathway_id, days_waited,
                        CASE WHEN waiting_list_entry_id IS NOT NULL THEN list_position END), '|'
                        ORDER BY pathway_id, period_no)) FROM ptl.ptl"
ptl_before=$(q $old "$ptl_fingerprint")

# Step by step to the current version.  Autovacuum, woken by the rows just
# loaded, can deadlock with an update's ALTER TABLE (both write the table's
# pg_class row): the update is then rolled back whole (40P01) and run again,
# as a DBA would.  Vacuuming first leaves autovacuum little to do.  (The
# 0.4.0 update locks every table before it writes, which rules this out;
# the released steps before it do not.)
q $old "VACUUM ANALYZE"
steps=""
for v in $(echo "$releases" | tail -n +2) "$current"; do
    [ "$v" = "$(q $old "SELECT extversion FROM pg_extension WHERE extname = 'ptl'")" ] && continue
    # A clinic session with a slot count, as the release before this one
    # held it, to become slots (ok 9).
    if [ "$v" = "$current" ]; then
        q $old "INSERT INTO ptl.clinic (clinic_code, site_code, treatment_function, name)
                SELECT 'UPG-C1', min(site_code), '110', 'Upgrade clinic' FROM ptl.site;
                INSERT INTO ptl.clinic_session (clinic_code, session_date, slots) VALUES ('UPG-C1', '2025-04-14', 3)"
    fi
    q $old "ALTER EXTENSION ptl UPDATE TO '$v'" || { sleep 1; q $old "ALTER EXTENSION ptl UPDATE TO '$v'"; }
    steps="$steps -> $v"
done
got=$(q $old "SELECT extversion FROM pg_extension WHERE extname = 'ptl'")
if [ "$got" = "$current" ]; then
    echo "ok 1 - $oldest updates to $current ($oldest$steps)"
else
    echo "not ok 1 - updated to $got, not $current"
fi

after=$(q $old "SELECT count(*) || '/' || md5(string_agg(x::text, '|' ORDER BY x::text)) FROM ptl.census_snapshot s, LATERAL (SELECT to_jsonb(s) - '{triage_priority,consultant_code}'::text[]) v (x)")
if [ "$before" = "$after" ] && [ "${before%%/*}" -gt 0 ]; then
    echo "ok 2 - the census snapshots come through the update (${before%%/*} rows)"
else
    echo "not ok 2 - census snapshots changed: $before vs $after"
fi
parts=$(q $old "SELECT count(*) FROM pg_inherits WHERE inhparent = 'ptl.census_snapshot'::regclass")
if [ "$parts" -ge 2 ]; then
    echo "ok 3 - the snapshots are partitioned by month ($parts partitions)"
else
    echo "not ok 3 - $parts snapshot partitions"
fi

ptl_after=$(q $old "$ptl_fingerprint")
if [ "$ptl_before" = "$ptl_after" ]; then
    echo "ok 4 - the PTL reads the same after the update (${ptl_before%%/*} rows)"
else
    echo "not ok 4 - the PTL differs after the update: $ptl_before vs $ptl_after"
fi

if psql -qAtX -v ON_ERROR_STOP=1 -d $old -c "CALL ptl.daily_refresh('2025-04-07')" >/dev/null 2>"$out/refresh.err" &&
   [ "$(q $old "SELECT status FROM ptl.refresh_run ORDER BY run_id DESC LIMIT 1")" = succeeded ]; then
    echo "ok 5 - the daily refresh runs on the updated database"
else
    echo "not ok 5 - the daily refresh failed after the update"
    sed 's/^/# /' "$out/refresh.err"
fi

# Capabilities new since the oldest release work on the data it had: the
# first refresh after the first refresh after the update derived every pathway's journey stages
# (0.3.0), as a full derivation gives them.
stages=$(q $old "SELECT count(*) || '/' || coalesce(md5(string_agg(format('%s %s %s', pathway_id, episode_no, stage), '|'
                                                                ORDER BY pathway_id, episode_no)), '')
                 FROM ptl.journey_episode")
q $old "SELECT ptl.journey_compute('2025-04-07')" >/dev/null
stages_full=$(q $old "SELECT count(*) || '/' || coalesce(md5(string_agg(format('%s %s %s', pathway_id, episode_no, stage), '|'
                                                                     ORDER BY pathway_id, episode_no)), '')
                      FROM ptl.journey_episode")
if [ "$stages" = "$stages_full" ] && [ "${stages%%/*}" -gt 0 ]; then
    echo "ok 6 - the first refresh after the update derived every pathway's journey stages (${stages%%/*} stays)"
else
    echo "not ok 6 - journey stages after the update: $stages, derived afresh: $stages_full"
fi

# The catalogue of the updated extension equals a fresh install's.
createdb $new
q $new "CREATE EXTENSION ptl"
q $old "DROP EXTENSION ptl_synth"
catalogue $old > "$out/updated"
catalogue $new > "$out/fresh"
if diff -u "$out/fresh" "$out/updated" > "$out/diff"; then
    echo "ok 7 - the updated catalogue equals a fresh install of $current ($(wc -l < "$out/fresh") entries)"
else
    echo "not ok 7 - the updated catalogue differs from a fresh install (- fresh, + updated)"
    grep '^[-+][^-+]' "$out/diff" | head -60 | sed 's/^/# /'
fi

# The security model holds after the update as after a fresh install: no
# grant an older release made survives (its upgrade re-granted SELECT on
# every table, the monthly snapshot partitions made before the update
# included), nothing is undeclared (docs/security.md).
violations=$(q $old "SELECT count(*) FROM ptl.access_policy_violations()")
partitions=$(q $old "SELECT count(*) FROM pg_inherits WHERE inhparent = 'ptl.census_snapshot'::regclass")
if [ "$violations" = 0 ] && [ "$(q $new "SELECT count(*) FROM ptl.access_policy_violations()")" = 0 ]; then
    echo "ok 8 - the security model holds after the update and after a fresh install ($partitions snapshot partitions)"
else
    echo "not ok 8 - $violations departures from the security model after the update"
    q $old "SELECT object_type || ' ' || object_name || ': ' || problem FROM ptl.access_policy_violations() LIMIT 30" | sed 's/^/# /'
fi

# A session the release before held with a slot count and no template
# became that many either slots of the default length (docs/outpatients.md).
slots=$(q $old "SELECT string_agg(format('%s:%s:%s:%s', x.slot_no, x.slot_type, x.minutes, x.from_count), ',' ORDER BY x.slot_no)
                FROM ptl.clinic_slot x JOIN ptl.clinic_session s USING (session_id) WHERE s.clinic_code = 'UPG-C1'")
if [ "$slots" = "1:either:15:t,2:either:15:t,3:either:15:t" ]; then
    echo "ok 9 - a clinic session with 3 slots and no template became 3 either slots of 15 minutes"
else
    echo "not ok 9 - the clinic session's slots after the update: $slots"
fi
