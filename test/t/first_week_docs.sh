#!/usr/bin/env bash
# The first week's documentation, run as written.  Every fenced block in
# README.md and docs/*.md marked
#     <!-- test/t/first_week_docs.sh runs this block: NAME -->
# is taken from the file and run here, so a page that drifts from ptl fails
# a test: load, refresh and first-questions (the README's "Getting started":
# the first load, against CSV files with its column lists, the refresh and
# the first questions), access (docs/operations.md, "At a glance"), trend
# (docs/measures.md), uninstall-copy and uninstall (docs/operations.md).  The schedule block
# is run by test/cron/schedule.sh, back up and restore by
# test/t/dump_restore.sh, upgrade by test/t/upgrade.sh.  Prints TAP; needs a
# superuser connection (PG* variables) to a throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
db=ptl_first_week_docs
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -qAtX -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# The block after a marker, without the indentation of a list item.
block() {   # name -> text
    awk -v mark="runs this block: $1 -->" '
        index($0, mark) { found = 1; next }
        found == 1 && /^ *```/ { found = 2; match($0, /^ */); indent = RLENGTH; next }
        found == 2 && /^ *```/ { exit }
        found == 2 { print substr($0, indent + 1) }' "$root/README.md" "$root"/docs/*.md
}
run_block() {   # name -> psql output; stops at the first error
    local text
    text=$(block "$1")
    [ -n "$text" ] || { echo "no block marked '$1'" >&2; return 1; }
    printf '%s\n' "$text" | psql -qX -v ON_ERROR_STOP=1 -d "$db" 2>&1
}

names="load refresh first-questions access trend uninstall-copy uninstall"
echo "1..9"

# Every marked block is one this script runs (a new one needs a runner here).
marked=$(grep -ho 'first_week_docs.sh runs this block: [a-z-]*' "$root/README.md" "$root"/docs/*.md \
         | sed 's/.*: //' | sort | tr '\n' ' ')
ok "$([ "$marked" = "$(echo $names | tr ' ' '\n' | sort | tr '\n' ' ')" ] && echo 0 || echo 1)" \
   "the marked blocks are the ones this script runs ($marked)"

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
q "CREATE EXTENSION ptl"
q "INSERT INTO ptl.organisation (org_code, name) VALUES ('RBD', 'Dorset County Hospital NHS Foundation Trust')"
q "INSERT INTO ptl.site (site_code, org_code, name) VALUES ('RBD01', 'RBD', 'Dorset County Hospital')"

# The site's four extracts, with the README's column lists.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/patients.csv" <<'CSV'
local_patient_id,nhs_number,given_name,family_name,date_of_birth,date_of_death,sex,postcode,address_line_1,ethnic_category,lsoa_code,gp_practice_code,commissioner_code
H001,943 476 5919,Ann,Hardy,1950-03-01,,2,DT1 2JY,1 High Street,A,E01020474,,
H002,4857773457,Tom,Barnes,1961-04-02,,1,DT1 1AA,2 Low Street,B,,,
H003,,Sue,Cole,12/05/1972,,2,,,Z,,,
CSV
cat >"$work/pathways.csv" <<'CSV'
local_patient_id,ppid,ppid_issuer,ubrn,site_code,treatment_function,referral_priority,referral_received,commissioner_code,consultant_code,triage_priority
H001,RBD-1,RBD,,RBD01,110,1,2025-01-06,,C1234567,
H002,RBD-2,RBD,,RBD01,110,2,2024-02-05,,C1234567,1
H003,RBD-3,RBD,,RBD01,130,3,2025-03-03,,,
CSV
cat >"$work/events.csv" <<'CSV'
ppid_issuer,ppid,event_ref,event_date,kind,rtt_status,ref_date,site_code,treatment_function
RBD,RBD-1,E1,2025-01-06,referral,10,,RBD01,110
RBD,RBD-1,E2,2025-02-10,decision_to_admit,20,,RBD01,110
RBD,RBD-2,E1,2024-02-05,referral,10,,RBD01,110
RBD,RBD-3,E1,2025-03-03,referral,10,,RBD01,130
CSV
cat >"$work/waiting_list.csv" <<'CSV'
ppid_issuer,ppid,entry_ref,procedure_code,procedure_description,intended_management,clinical_priority,decision_to_admit,expected_duration_minutes,consultant_code,tci_date,removed_date,removal_reason,site_code
RBD,RBD-1,W1,W37.1,Primary total hip replacement,1,P3,2025-02-10,120,C1234567,,,,RBD01
CSV

# load: the README's block, in the directory that holds the files.
out=$(cd "$work" && run_block load) && status=0 || status=1
counts=$(q "SELECT string_agg(extract || '=' || rows_read || '/' || rows_quarantined, ' ' ORDER BY extract)
            FROM ptl.batch_extract WHERE rows_read > 0")
ok "$([ $status = 0 ] && [ "$counts" = "pathway=3/0 pathway_event=4/0 patient=3/0 waiting_list_entry=1/0" ] && echo 0 || echo 1)" \
   "load: the README's first load reads every row and quarantines none ($counts)"
[ $status = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# refresh: the README's refresh at the census, and its run logged.
out=$(run_block refresh) && status=0 || status=1
run=$(q "SELECT status || ' ' || entry_point FROM ptl.refresh_status LIMIT 1")
ok "$([ $status = 0 ] && [ "$run" = "succeeded daily_refresh" ] && printf '%s' "$out" | grep -q 'succeeded' && echo 0 || echo 1)" \
   "refresh: the README's refresh runs and ptl.refresh_status shows it succeeded ($run)"
[ $status = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# first-questions: the list in order for the trust.
out=$(run_block first-questions) && status=0 || status=1
listed=$(q "SELECT count(*) FROM ptl.ptl WHERE provider_org = 'RBD'")
ok "$([ $status = 0 ] && [ "$listed" = 3 ] && printf '%s' "$out" | grep -q 'RBD-1' && echo 0 || echo 1)" \
   "first-questions: the README's questions answer, the PTL listing the 3 pathways"
[ $status = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

# access: a reader mapped to the trust sees its list, and no identifiers.
q "DROP ROLE IF EXISTS alice" 2>/dev/null || true
out=$(run_block access) && status=0 || status=1
seen=$(psql -qAtX -d "$db" -c "SET ROLE alice" -c "SELECT count(*) || ':' || count(nhs_number) FROM ptl.ptl")
ok "$([ $status = 0 ] && [ "$seen" = "3:0" ] && echo 0 || echo 1)" \
   "access: docs/operations.md's reader sees the trust's 3 pathways and no NHS number ($seen)"
[ $status = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
q "DELETE FROM ptl.user_organisation WHERE role_name = 'alice'"
q "DROP ROLE alice"

# trend: a census four weeks before this one, then docs/measures.md's question.
q "CALL ptl.daily_refresh('2025-03-03')" >/dev/null
q "CALL ptl.daily_refresh('2025-03-31')" >/dev/null
out=$(run_block trend) && status=0 || status=1
ok "$([ $status = 0 ] && printf '%s' "$out" | grep -Eq 'RBD +\| 110 +\| +2 \| +2 \| +0' && echo 0 || echo 1)" \
   "trend: this census against four weeks ago, per provider and treatment function"
printf '%s\n' "$out" | sed 's/^/# /'

# uninstall-copy: the copy docs/operations.md says to keep first, of this
# database: it holds ptl's patients and the monthly snapshot partitions.
copy=$(block uninstall-copy | sed "s/warehouse/$db/g")
(cd "$work" && eval "$copy" 2>/dev/null) && status=0 || status=1
kept=$(cd "$work" && pg_restore --list ./*.dump | grep -c -E 'TABLE DATA ptl (patient|pathway_event|audit_log|census_snapshot_y[0-9]{4}m[0-9]{2}) ' || true)
ok "$([ $status = 0 ] && [ "$kept" = 4 ] && echo 0 || echo 1)" \
   "uninstall-copy: the documented copy keeps patients, events, the audit log and the snapshot partition ($kept of 4)"

# uninstall: refused while ptl holds patients, then the documented transaction.
refused=$(psql -qAtX -d "$db" -c "DROP EXTENSION ptl" 2>&1 || true)
ok "$(printf '%s' "$refused" | grep -q 'allow_drop_with_data' && echo 0 || echo 1)" \
   "uninstall: a plain DROP EXTENSION is refused while patients are held"
out=$(run_block uninstall) && status=0 || status=1
left=$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('ptl', 'ptl_internal', 'ptl_stage')")
ok "$([ $status = 0 ] && [ "$left" = 0 ] && echo 0 || echo 1)" \
   "uninstall: docs/operations.md's transaction removes ptl and its three schemas ($left left)"
[ $status = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'

dropdb "$db"
