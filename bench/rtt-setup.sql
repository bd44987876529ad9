-- The generated events, typed, with a dense pathway number (bench/rtt.sh).
-- Read straight from the staged rows: the clocks are what is timed, not the
-- loader.  Sites write dates DD/MM/YYYY or ISO; DateStyle DMY reads both.
SET datestyle = 'ISO, DMY';
CREATE UNLOGGED TABLE bench_event AS
SELECT dense_rank() OVER (ORDER BY s.batch_id, s.ppid_issuer, s.ppid) AS pathway_id,
       row_number() OVER (ORDER BY s.row_no) AS event_id,
       s.event_date::date AS event_date, s.kind::ptl.event_kind AS kind,
       nullif(s.rtt_status, '')::ptl.rtt_status AS rtt_status, nullif(s.ref_date, '')::date AS ref_date,
       trim(p.referral_priority) IN ('3', 'two_week_wait') AS two_week_wait
FROM ptl_stage.pathway_event s
JOIN ptl_stage.pathway p ON p.batch_id = s.batch_id AND p.ppid_issuer = s.ppid_issuer AND p.ppid = s.ppid;
VACUUM ANALYZE bench_event;
