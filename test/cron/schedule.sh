#!/usr/bin/env bash
# The scheduling recipe of docs/operations.md ("Scheduling with pg_cron") and
# the README, run as written in a cluster that preloads pg_cron (scripts/test starts it:
# pg_virtualenv -o shared_preload_libraries=pg_cron ...).  pg_cron lives in
# database postgres, ptl in warehouse; the refresh runs as a login that is a
# member of ptl_admin, not as a superuser.  Prints TAP.
set -euo pipefail
q() { psql -qAtX -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
echo "1..7"

q postgres "CREATE EXTENSION IF NOT EXISTS pg_cron"
dropdb --if-exists warehouse
createdb warehouse
q warehouse "CREATE EXTENSION ptl"
# A small ICS for the run to refresh.
q warehouse "INSERT INTO ptl.organisation (org_code, name) VALUES ('RZZ', 'Test Hospitals NHS Trust')"
q warehouse "INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RZZ01', 'RZZ', 'Test General')"

# The recipe, as the superuser runs it once: docs/operations.md's block
# (marked "test/cron/schedule.sh runs this block"), taken from the file as
# written: the operator login, the incremental run Monday to Saturday, the
# full run on Sundays, each in the warehouse database and as the operator.
# The README's short form must say the same.
block() {   # file -> the marked block, without a list item's indentation
    awk 'index($0, "test/cron/schedule.sh runs this block") { found = 1; next }
         found == 1 && /^ *```/ { found = 2; match($0, /^ */); indent = RLENGTH; next }
         found == 2 && /^ *```/ { exit }
         found == 2 { print substr($0, indent + 1) }' "$1"
}
docs=$(dirname "$0")/../..
recipe=$(block "$docs/docs/operations.md")
short=$(block "$docs/README.md")
[ -n "$recipe" ] && [ -n "$short" ] || { echo "Bail out! a scheduling block is not marked in README.md or docs/operations.md"; exit 1; }
printf '%s\n' "$recipe" | psql -qAtX -v ON_ERROR_STOP=1 -d postgres >/dev/null
missing=$(comm -23 <(printf '%s\n' "$short" | sed 's/ *--.*//; /^$/d' | sort) \
                   <(printf '%s\n' "$recipe" | sed 's/ *--.*//; /^$/d' | sort))
ok "$([ -z "$missing" ] && echo 0 || echo 1)" "the README's schedule is the one docs/operations.md gives${missing:+ (not in the guide: $missing)}"

# No day has both runs (the recipe before 0.4.0 ran both on Sundays at
# the same minute, and the second failed with 55P03).
days() { q postgres "SELECT split_part(schedule, ' ', 5) FROM cron.job WHERE jobname = '$1'"; }
expand() { case "$1" in '*') echo "0 1 2 3 4 5 6" ;; *-*) seq -s ' ' "${1%-*}" "${1#*-}" ;; *) echo "$1" | tr ',' ' ' ;; esac; }
both=$(comm -12 <(expand "$(days ptl-daily-refresh)" | tr ' ' '\n' | sort) <(expand "$(days ptl-weekly-full)" | tr ' ' '\n' | sort))
ok "$([ -z "$both" ] && echo 0 || echo 1)" "the daily and the weekly full run never fall on the same day (daily $(days ptl-daily-refresh), full $(days ptl-weekly-full))"
owners=$(q postgres "SELECT string_agg(DISTINCT username || '@' || database, ',') FROM cron.job WHERE jobname LIKE 'ptl-%'")
ok "$([ "$owners" = ptl_operator@warehouse ] && echo 0 || echo 1)" "both jobs run in warehouse as ptl_operator, not as the superuser ($owners)"

# A non-superuser cannot schedule in another database (pg_cron's rule), so
# the recipe's one-off step is the superuser's.
q postgres "GRANT USAGE ON SCHEMA cron TO ptl_operator"
refusal=$(psql -qAtX -d postgres -c "SET ROLE ptl_operator" \
               -c "SELECT cron.schedule_in_database('x', '* * * * *', 'SELECT 1', 'warehouse')" 2>&1 >/dev/null || true)
case "$refusal" in
    *permission*|*superuser*|*denied*)
        ok 0 "a non-superuser cannot schedule in another database: the recipe has the superuser do it once" ;;
    *) ok 1 "a non-superuser's schedule_in_database was not refused as expected: '$refusal'" ;;
esac

# The recipe's own jobs, checked above, are paused: run at their minute
# (05:30) they would race the test's run below, which would then meet "another
# ptl refresh is running" (as it did on a Monday at 05:30).
q postgres "SELECT count(cron.alter_job(jobid, active => false)) FROM cron.job WHERE jobname LIKE 'ptl-%'" >/dev/null

# The job itself, run now (every minute) as the recipe's jobs run: it must
# succeed as the operator, and ptl must log it as the operator's.
q postgres "SELECT cron.schedule_in_database('ptl-now', '* * * * *', \$\$CALL ptl.daily_refresh()\$\$,
            'warehouse', 'ptl_operator')" >/dev/null
status=""
for _ in $(seq 1 90); do
    status=$(q postgres "SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                         WHERE j.jobname = 'ptl-now' AND d.status IN ('succeeded', 'failed')
                         ORDER BY d.runid LIMIT 1")
    [ -n "$status" ] && break
    sleep 2
done
q postgres "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'ptl-now'" >/dev/null
detail=$(q postgres "SELECT coalesce(d.return_message, '') FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                     WHERE j.jobname = 'ptl-now' ORDER BY d.runid LIMIT 1" 2>/dev/null || true)
ok "$([ "$status" = succeeded ] && echo 0 || echo 1)" "pg_cron ran CALL ptl.daily_refresh() in warehouse as ptl_operator: ${status:-no run in 3 minutes} $detail"
run=$(q warehouse "SELECT run_by || ' ' || status || ' ' || entry_point FROM ptl.refresh_status ORDER BY run_id LIMIT 1")
ok "$([ "$run" = "ptl_operator succeeded daily_refresh" ] && echo 0 || echo 1)" "ptl.refresh_status logs the run as the operator's ($run)"

# The operator holds no superuser right: what it may do comes from ptl_admin.
super=$(q postgres "SELECT rolsuper FROM pg_roles WHERE rolname = 'ptl_operator'")
ok "$([ "$super" = f ] && echo 0 || echo 1)" "the operator is not a superuser"

q postgres "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'ptl-%'" >/dev/null
dropdb warehouse
q postgres "DROP EXTENSION pg_cron"
q postgres "DROP ROLE ptl_operator"
