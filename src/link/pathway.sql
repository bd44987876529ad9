-- ---------------------------------------------------------------------------
-- link/pathway: records of one pathway at several providers become one ICS
-- pathway (RTT guidance 11 and Annex C), so a transferred clock keeps its original
-- start and the PTL counts each period once.
--
--  * Records with the same issuer and PPID are one pathway (the receiving
--    provider must keep them, Annex C).
--  * A transfer_out at one provider and a transfer_in at another, for the
--    same ICS person, within the setting transfer_window_days, is a matched
--    transfer when both records carry the same PPID, or when the receiver's
--    original clock start is the sender's (then they are one pathway even if
--    the receiver issued a new PPID).
--  * The receiver's clock then runs on the merged events: the sender's up
--    to its transfer out, then its own (its transfer_in, a handover, is left
--    out: the clock does not restart).  See ptl.rtt_compute.
--  * Two records of one person in different ICS pathways, with the same
--    UBRN, or in the same treatment function both open, are duplicates:
--    listed in ptl.pathway_duplicate and counted once (the earlier clock
--    start is kept).
-- ---------------------------------------------------------------------------

CREATE TABLE ptl.pathway_link (
    pathway_id      bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    ics_pathway_id  bigint NOT NULL,
    method          text NOT NULL CHECK (method IN ('own', 'ppid', 'transfer')),
    linked_at       timestamptz NOT NULL DEFAULT now(),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_link_linked_at_in_range CHECK (ptl.in_storage_range(linked_at))
);
CREATE INDEX pathway_link_ics_idx ON ptl.pathway_link (ics_pathway_id);
COMMENT ON TABLE ptl.pathway_link IS
    'The ICS pathway of every pathway record (named by its smallest record id), and how its records were joined';
COMMENT ON COLUMN ptl.pathway_link.pathway_id IS 'Pathway record';
COMMENT ON COLUMN ptl.pathway_link.ics_pathway_id IS 'ICS pathway: the smallest pathway_id among its records';
COMMENT ON COLUMN ptl.pathway_link.method IS
    'own (no other record), ppid (joined by issuer and PPID) or transfer (joined by a matched transfer out and in)';
COMMENT ON COLUMN ptl.pathway_link.linked_at IS 'When';

-- Matched transfers, one row per receiving record and each provider before
-- it (a pathway transferred twice gives its last receiver two senders).
CREATE TABLE ptl.pathway_transfer (
    receiver_pathway_id bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    sender_pathway_id   bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    transferred_out_on  date NOT NULL,
    transfer_in_event_id bigint,
    direct              boolean NOT NULL,
    PRIMARY KEY (receiver_pathway_id, sender_pathway_id),
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_transfer_transferred_out_on_in_range CHECK (ptl.in_storage_range(transferred_out_on))
);
CREATE INDEX pathway_transfer_sender_idx ON ptl.pathway_transfer (sender_pathway_id);
COMMENT ON TABLE ptl.pathway_transfer IS
    'Inter-provider transfers matched by ptl.link_pathways: the receiver''s clock runs on the sender''s events up to the transfer out';
COMMENT ON COLUMN ptl.pathway_transfer.receiver_pathway_id IS 'Record at the receiving provider';
COMMENT ON COLUMN ptl.pathway_transfer.sender_pathway_id IS 'Record at a provider that held the pathway before';
COMMENT ON COLUMN ptl.pathway_transfer.transferred_out_on IS 'Date the sender transferred it out: its events up to then are merged';
COMMENT ON COLUMN ptl.pathway_transfer.transfer_in_event_id IS 'The receiver''s transfer_in event for a direct transfer (left out of the merged events)';
COMMENT ON COLUMN ptl.pathway_transfer.direct IS 'False for an earlier provider reached through a chain of transfers';

-- Pathway records another organisation's user sees because of a transfer:
-- the receiver to the sender's organisation and the sender to the
-- receiver's, limited to the caller's organisations.  Runs with its owner's
-- rights (not security_invoker), so a policy on ptl.pathway can use it
-- without the policy reading ptl.pathway through itself; a security
-- barrier, so a user's condition never sees the rows it does not show.
-- (Here, beside the transfers, not in src/access/: access comes before
-- linkage in the rooms' order, docs/architecture.md.)
CREATE VIEW ptl.transferred_pathway_visible WITH (security_barrier) AS
SELECT x.receiver_pathway_id AS pathway_id, s.provider_org AS org_code
FROM ptl.pathway_transfer x JOIN ptl.pathway s ON s.pathway_id = x.sender_pathway_id
WHERE s.provider_org = ANY (ptl.my_organisations())
UNION
SELECT x.sender_pathway_id, r.provider_org
FROM ptl.pathway_transfer x JOIN ptl.pathway r ON r.pathway_id = x.receiver_pathway_id
WHERE r.provider_org = ANY (ptl.my_organisations());
COMMENT ON VIEW ptl.transferred_pathway_visible IS
    'Pathway records the current user sees because they were transferred to or from one of its organisations';
COMMENT ON COLUMN ptl.transferred_pathway_visible.pathway_id IS 'Pathway record at the other provider';
COMMENT ON COLUMN ptl.transferred_pathway_visible.org_code IS 'The caller''s organisation it was transferred to or from';

CREATE TABLE ptl.pathway_duplicate (
    pathway_id          bigint PRIMARY KEY REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    kept_pathway_id     bigint NOT NULL REFERENCES ptl.pathway (pathway_id) ON DELETE CASCADE,
    reason              text NOT NULL CHECK (reason IN ('same_ubrn', 'open_twice')),
    found_on            date NOT NULL,
    -- (ptl.in_storage_range: finite, 1850-01-01 to 2200-12-31; see src/model/model.sql)
    CONSTRAINT pathway_duplicate_found_on_in_range CHECK (ptl.in_storage_range(found_on))
);
COMMENT ON TABLE ptl.pathway_duplicate IS
    'Pathway records that duplicate another record of the same person (same UBRN, or the same treatment function open twice): not counted on the PTL';
COMMENT ON COLUMN ptl.pathway_duplicate.pathway_id IS 'The duplicate record (left off the PTL)';
COMMENT ON COLUMN ptl.pathway_duplicate.kept_pathway_id IS 'The record counted instead: the earlier clock start, then the smaller id';
COMMENT ON COLUMN ptl.pathway_duplicate.reason IS 'same_ubrn or open_twice (same person and treatment function, both open)';
COMMENT ON COLUMN ptl.pathway_duplicate.found_on IS 'Census of the refresh that first found it (kept while later refreshes find it again)';

-- Linking every record, or (incremental) only what can have changed since
-- the last linkage.  An ICS pathway is a connected set of records joined by
-- two kinds of edge: the same issuer and PPID (any persons), and a matched
-- transfer (two records of one ICS person).  So a record's ICS pathway and
-- transfers can change only if something changed in its own connected set,
-- before or after the change.  ptl.refresh lists in pg_temp.pathway_link_scope
-- the records that changed (ptl.rtt_dirty_pathway: new or changed records and
-- events, and every record of the person of a deleted record or a changed
-- patient record, and the records sharing a deleted record's PPID), those
-- never linked, and those of the patients a person linkage moved to another
-- person; this function grows that set until it is closed under: every
-- record of the same ICS person, every record of the same issuer and PPID,
-- and every record of the same ICS pathway as linked before.  Those records
-- alone are linked again, with exactly the statements of a full linkage
-- restricted to them (each ICS pathway and transfer lies wholly inside the
-- set or wholly outside it); the others' rows stand.  Their links as they
-- were are left in pg_temp.pathway_relink (ics_before) for the refresh to
-- see what moved.
CREATE FUNCTION ptl.link_pathways(incremental boolean, OUT records bigint, OUT ics_pathways bigint,
                                  OUT transfers bigint)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
SET client_min_messages = warning
AS $$
#variable_conflict use_variable
DECLARE
    s ptl.link_setting := ptl_internal.link_setting_in_force();
    ring int := 0;
    grown bigint;
    -- the scope of each statement: every record, or those of pathway_relink
    only_so text := '';
    only_rp text := '';
    only_t text := '';
    only_p text := '';
BEGIN
    IF incremental AND to_regclass('pg_temp.pathway_link_scope') IS NULL THEN
        RAISE EXCEPTION 'no pathway records to link again (pg_temp.pathway_link_scope is missing)'
            USING ERRCODE = 'undefined_table',
                  HINT = 'ptl.refresh makes it; outside a refresh, link every record: ptl.link_pathways().';
    END IF;
    LOCK TABLE ptl.pathway_link IN SHARE ROW EXCLUSIVE MODE;
    DROP TABLE IF EXISTS pathway_edge;
    IF to_regclass('pg_temp.pathway_relink') IS NOT NULL THEN
        DROP TABLE pg_temp.pathway_relink;
    END IF;
    CREATE TEMP TABLE pathway_relink (pathway_id bigint PRIMARY KEY, ring int NOT NULL, ics_before bigint)
        ON COMMIT DROP;

    IF incremental THEN
        INSERT INTO pg_temp.pathway_relink (pathway_id, ring)
        SELECT DISTINCT z.pathway_id, 0
        FROM pg_temp.pathway_link_scope z JOIN ptl.pathway p ON p.pathway_id = z.pathway_id;
        -- The closure, a ring at a time.
        LOOP
            ring := ring + 1;
            INSERT INTO pg_temp.pathway_relink (pathway_id, ring)
            SELECT x.pathway_id, ring
            FROM (-- the same ICS person (its matched transfers)
                  SELECT q.pathway_id
                  FROM pg_temp.pathway_relink r
                  JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
                  JOIN ptl.person_link pl ON pl.patient_id = p.patient_id
                  JOIN ptl.person_link ql ON ql.person_id = pl.person_id
                  JOIN ptl.pathway q ON q.patient_id = ql.patient_id
                  WHERE r.ring = ring - 1
                  UNION
                  -- the same issuer and PPID
                  SELECT q.pathway_id
                  FROM pg_temp.pathway_relink r
                  JOIN ptl.pathway p ON p.pathway_id = r.pathway_id
                  JOIN ptl.pathway q ON q.ppid_issuer = p.ppid_issuer AND q.ppid = p.ppid
                  WHERE r.ring = ring - 1
                  UNION
                  -- the same ICS pathway as linked before
                  SELECT m.pathway_id
                  FROM pg_temp.pathway_relink r
                  JOIN ptl.pathway_link l ON l.pathway_id = r.pathway_id
                  JOIN ptl.pathway_link m ON m.ics_pathway_id = l.ics_pathway_id
                  WHERE r.ring = ring - 1) x
            ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS grown = ROW_COUNT;
            EXIT WHEN grown = 0;
        END LOOP;
        UPDATE pg_temp.pathway_relink r SET ics_before = l.ics_pathway_id
        FROM ptl.pathway_link l WHERE l.pathway_id = r.pathway_id;
        ANALYZE pg_temp.pathway_relink;
        only_so := 'JOIN pg_temp.pathway_relink zs ON zs.pathway_id = so.pathway_id';
        only_rp := 'JOIN pg_temp.pathway_relink zr ON zr.pathway_id = rp.pathway_id';
        only_t := 'WHERE t.receiver_pathway_id IN (SELECT z.pathway_id FROM pg_temp.pathway_relink z)';
        only_p := 'JOIN pg_temp.pathway_relink zp ON zp.pathway_id = p.pathway_id';
        DELETE FROM ptl.pathway_transfer t
        WHERE t.receiver_pathway_id IN (SELECT z.pathway_id FROM pg_temp.pathway_relink z)
           OR t.sender_pathway_id IN (SELECT z.pathway_id FROM pg_temp.pathway_relink z);
    ELSE
        DELETE FROM ptl.pathway_transfer;
    END IF;

    -- Direct transfers: a transfer out (kind or status 21) matched to the
    -- other provider's transfer in that carries the sender's start.
    EXECUTE format($q$
    INSERT INTO ptl.pathway_transfer (receiver_pathway_id, sender_pathway_id, transferred_out_on,
                                      transfer_in_event_id, direct)
    SELECT DISTINCT ON (ti.pathway_id, so.pathway_id)
           ti.pathway_id, so.pathway_id, so.event_date, ti.event_id, true
    FROM ptl.pathway_event so
    %s
    JOIN ptl.pathway sp ON sp.pathway_id = so.pathway_id
    JOIN ptl.person_link spl ON spl.patient_id = sp.patient_id
    JOIN ptl.person_link rpl ON rpl.person_id = spl.person_id
    JOIN ptl.pathway rp ON rp.patient_id = rpl.patient_id AND rp.provider_org <> sp.provider_org
    %s
    JOIN ptl.pathway_event ti ON ti.pathway_id = rp.pathway_id AND ti.kind = 'transfer_in'
    WHERE (so.kind = 'transfer_out' OR so.rtt_status = '21')
      AND ti.event_date BETWEEN so.event_date AND so.event_date + $1
      -- the same pathway identifier, or the sender's original start carried over
      AND ((rp.ppid_issuer, rp.ppid) = (sp.ppid_issuer, sp.ppid)
           OR ti.ref_date = coalesce((SELECT min(e.ref_date) FROM ptl.pathway_event e
                                      WHERE e.pathway_id = sp.pathway_id AND e.kind = 'transfer_in'),
                                     sp.referral_received))
    ORDER BY ti.pathway_id, so.pathway_id, so.event_date DESC$q$, only_so, only_rp)
    USING s.transfer_window_days;

    -- Earlier providers of a chain of transfers, up to each one's own transfer out.
    EXECUTE format($q$
    INSERT INTO ptl.pathway_transfer (receiver_pathway_id, sender_pathway_id, transferred_out_on,
                                      transfer_in_event_id, direct)
    WITH RECURSIVE chain AS (
        SELECT t.receiver_pathway_id, t.sender_pathway_id, ARRAY[t.receiver_pathway_id, t.sender_pathway_id] AS seen
        FROM ptl.pathway_transfer t
        %s
        UNION ALL
        SELECT c.receiver_pathway_id, t.sender_pathway_id, c.seen || t.sender_pathway_id
        FROM chain c JOIN ptl.pathway_transfer t ON t.receiver_pathway_id = c.sender_pathway_id AND t.direct
        WHERE t.sender_pathway_id <> ALL (c.seen))
    SELECT DISTINCT ON (c.receiver_pathway_id, c.sender_pathway_id)
           c.receiver_pathway_id, c.sender_pathway_id, t.transferred_out_on, NULL::bigint, false
    FROM chain c
    JOIN ptl.pathway_transfer t ON t.sender_pathway_id = c.sender_pathway_id AND t.direct
    WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_transfer d
                      WHERE d.receiver_pathway_id = c.receiver_pathway_id AND d.sender_pathway_id = c.sender_pathway_id)
    ORDER BY c.receiver_pathway_id, c.sender_pathway_id, t.transferred_out_on DESC$q$, only_t);

    -- Edges: same issuer and PPID (each record to the first), and transfers.
    EXECUTE format($q$
    CREATE TEMP TABLE pathway_edge ON COMMIT DROP AS
    SELECT least(x.first_id, x.pathway_id) AS a, greatest(x.first_id, x.pathway_id) AS b, 'ppid' AS method
    FROM (SELECT p.pathway_id, min(p.pathway_id) OVER (PARTITION BY p.ppid_issuer, p.ppid) AS first_id
          FROM ptl.pathway p %s) x
    WHERE x.pathway_id <> x.first_id
    UNION
    SELECT least(t.receiver_pathway_id, t.sender_pathway_id), greatest(t.receiver_pathway_id, t.sender_pathway_id),
           'transfer'
    FROM ptl.pathway_transfer t WHERE t.direct %s$q$,
        only_p, CASE WHEN incremental THEN replace(only_t, 'WHERE', 'AND') ELSE '' END);

    IF incremental THEN
        DELETE FROM ptl.pathway_link l USING pg_temp.pathway_relink z WHERE z.pathway_id = l.pathway_id;
    ELSE
        DELETE FROM ptl.pathway_link;
    END IF;
    EXECUTE format($q$
    INSERT INTO ptl.pathway_link (pathway_id, ics_pathway_id, method)
    WITH joined AS (
        SELECT o.*
        FROM (SELECT array_agg(a ORDER BY a, b) AS l, array_agg(b ORDER BY a, b) AS r,
                     array_agg('Infinity'::float8) AS w
              FROM pathway_edge) e,
             (SELECT array_agg(id ORDER BY id) AS ids, array_agg(NULL::text) AS keys
              FROM (SELECT a AS id FROM pathway_edge UNION SELECT b FROM pathway_edge) x) rec,
             ptl.link_clusters(rec.ids, rec.keys, e.l, e.r, e.w, 2147483647) o
        WHERE e.l IS NOT NULL),
    member AS (
        SELECT left_id AS pathway_id, left_cluster AS ics_pathway_id FROM joined
        UNION
        SELECT right_id, right_cluster FROM joined),
    by_ppid AS (
        SELECT a AS pathway_id FROM pathway_edge WHERE method = 'ppid'
        UNION
        SELECT b FROM pathway_edge WHERE method = 'ppid')
    SELECT p.pathway_id, coalesce(m.ics_pathway_id, p.pathway_id),
           CASE WHEN m.pathway_id IS NULL THEN 'own'
                WHEN pp.pathway_id IS NOT NULL THEN 'ppid'
                ELSE 'transfer' END
    FROM ptl.pathway p
    %s
    LEFT JOIN member m ON m.pathway_id = p.pathway_id
    LEFT JOIN by_ppid pp ON pp.pathway_id = p.pathway_id$q$, only_p);

    IF incremental THEN
        -- What this linkage did: the records linked again.
        records := (SELECT count(*) FROM pg_temp.pathway_relink);
        ics_pathways := (SELECT count(DISTINCT l.ics_pathway_id)
                         FROM ptl.pathway_link l JOIN pg_temp.pathway_relink z ON z.pathway_id = l.pathway_id);
        transfers := (SELECT count(*) FROM ptl.pathway_transfer t
                      WHERE t.direct AND t.receiver_pathway_id IN (SELECT z.pathway_id FROM pg_temp.pathway_relink z));
    ELSE
        records := (SELECT count(*) FROM ptl.pathway_link);
        ics_pathways := (SELECT count(DISTINCT ics_pathway_id) FROM ptl.pathway_link);
        transfers := (SELECT count(*) FROM ptl.pathway_transfer WHERE direct);
    END IF;
    -- (incremental: by its pages, without counting every row)
    PERFORM ptl.analyze_if_grown('ptl.pathway_link', CASE WHEN NOT incremental THEN records END);
    PERFORM ptl.analyze_if_grown('ptl.pathway_transfer', (SELECT count(*) FROM ptl.pathway_transfer));
END
$$;
COMMENT ON FUNCTION ptl.link_pathways(boolean) IS
    'Joins pathway records into ICS pathways (same issuer and PPID, or a matched transfer out and in of one person) and lists the transfers whose receivers'' clocks run on merged events; needs ptl.person_link; every record, or with incremental only the records ptl.refresh listed in pg_temp.pathway_link_scope and those connected to them (before or now); returns the records linked, their ICS pathways and direct transfers';

CREATE FUNCTION ptl.link_pathways(OUT records bigint, OUT ics_pathways bigint, OUT transfers bigint)
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$ SELECT l.records, l.ics_pathways, l.transfers FROM ptl.link_pathways(false) l $$;
COMMENT ON FUNCTION ptl.link_pathways() IS
    'Joins pathway records into ICS pathways (same issuer and PPID, or a matched transfer out and in of one person) and lists the transfers whose receivers'' clocks run on merged events, over every record; needs ptl.person_link';
