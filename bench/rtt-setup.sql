-- The generated events, typed, with a pathway number (bench/rtt.sh).  Read
-- straight from the staged rows: the clocks are what is timed, not the
-- loader.  Sites write dates DD/MM/YYYY or ISO; DateStyle DMY reads both.
-- Rows are kept in staging order (grouped by pathway, as ptl.pathway_event
-- is after a load) and indexed as ptl.pathway_event is, so both paths may
-- read pathways in order instead of hashing or sorting them.
SET datestyle = 'ISO, DMY';
CREATE UNLOGGED TABLE bench_event AS
SELECT min(s.row_no) OVER (PARTITION BY s.batch_id, s.ppid_issuer, s.ppid) AS pathway_id,
       s.row_no AS event_id,
       s.event_date::date AS event_date, s.kind::ptl.event_kind AS kind,
       nullif(s.rtt_status, '')::ptl.rtt_status AS rtt_status, nullif(s.ref_date, '')::date AS ref_date,
       trim(p.referral_priority) IN ('3', 'two_week_wait') AS two_week_wait
FROM ptl_stage.pathway_event s
JOIN ptl_stage.pathway p ON p.batch_id = s.batch_id AND p.ppid_issuer = s.ppid_issuer AND p.ppid = s.ppid
ORDER BY s.row_no;
CREATE INDEX bench_event_pathway_idx ON bench_event (pathway_id, event_date, event_id);
VACUUM ANALYZE bench_event;
