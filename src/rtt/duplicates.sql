-- ---------------------------------------------------------------------------
-- rtt: duplicate open records of one person.  Linkage finds the persons
-- (ptl.person_link) and their ICS pathways; among a person's open clocks,
-- one that duplicates another (the same UBRN, or the same treatment
-- function on another ICS pathway) is listed in ptl.pathway_duplicate and
-- counted once on the PTL.  It reads the clocks, so it is here, not in link.
-- ---------------------------------------------------------------------------

-- Duplicates among the open pathways of the last refresh: of every person,
-- or (incremental) of the persons listed in pg_temp.duplicate_scope, which
-- ptl.refresh fills with the persons of the pathways whose clocks it
-- recomputed or whose linkage changed.  A duplicate is a matter of one
-- person's records only, so the others' rows stand.  A row found again is
-- kept as it is (found_on: the census that first found it).
CREATE FUNCTION ptl_internal.find_pathway_duplicates(census date, incremental boolean) RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    n bigint;
BEGIN
    IF NOT isfinite(census) THEN
        RAISE EXCEPTION 'census date must be a finite date, not %', census
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF incremental AND to_regclass('pg_temp.duplicate_scope') IS NULL THEN
        RAISE EXCEPTION 'no persons to look at (pg_temp.duplicate_scope is missing)'
            USING ERRCODE = 'undefined_table',
                  HINT = 'ptl.refresh makes it; outside a refresh, look at every person: ptl_internal.find_pathway_duplicates(census).';
    END IF;
    IF to_regclass('pg_temp.duplicate_found') IS NOT NULL THEN
        DROP TABLE pg_temp.duplicate_found;
    END IF;
    CREATE TEMP TABLE duplicate_found (LIKE ptl.pathway_duplicate) ON COMMIT DROP;
    EXECUTE format($q$
    INSERT INTO pg_temp.duplicate_found (pathway_id, kept_pathway_id, reason, found_on)
    WITH open_record AS (
        SELECT r.pathway_id, p.ubrn, p.treatment_function, pl.person_id, l.ics_pathway_id,
               min(r.clock_start) AS clock_start
        FROM %s
        JOIN ptl.pathway p ON p.patient_id = pl.patient_id
        JOIN ptl.rtt_period r ON r.pathway_id = p.pathway_id
        JOIN ptl.rtt_pathway rp ON rp.pathway_id = r.pathway_id AND rp.responsible
        JOIN ptl.pathway_link l ON l.pathway_id = r.pathway_id
        WHERE r.outcome = 'incomplete'
        GROUP BY r.pathway_id, p.ubrn, p.treatment_function, pl.person_id, l.ics_pathway_id),
    pair AS (
        SELECT a.pathway_id, b.pathway_id AS other_id, b.clock_start AS other_start, a.clock_start,
               CASE WHEN a.ubrn = b.ubrn THEN 'same_ubrn' ELSE 'open_twice' END AS reason
        FROM open_record a
        JOIN open_record b ON b.person_id = a.person_id AND b.pathway_id <> a.pathway_id
                          AND b.ics_pathway_id <> a.ics_pathway_id
                          AND (b.ubrn = a.ubrn OR b.treatment_function = a.treatment_function))
    -- a record is a duplicate when another one should be kept before it
    SELECT DISTINCT ON (x.pathway_id) x.pathway_id, x.other_id, x.reason, $1
    FROM pair x
    WHERE (x.other_start, x.other_id) < (x.clock_start, x.pathway_id)
       OR x.clock_start IS NULL AND x.other_start IS NOT NULL
    ORDER BY x.pathway_id, x.other_start NULLS LAST, x.other_id$q$,
        CASE WHEN incremental
             THEN 'pg_temp.duplicate_scope z JOIN ptl.person_link pl ON pl.person_id = z.person_id'
             ELSE 'ptl.person_link pl' END)
    USING census;

    -- Replace the rows of the persons looked at; one found again stays.
    EXECUTE format($q$
        DELETE FROM ptl.pathway_duplicate d %s
        NOT EXISTS (SELECT 1 FROM pg_temp.duplicate_found f
                    WHERE f.pathway_id = d.pathway_id AND f.kept_pathway_id = d.kept_pathway_id
                      AND f.reason = d.reason)$q$,
        CASE WHEN incremental
             THEN 'USING ptl.pathway p, ptl.person_link pl, pg_temp.duplicate_scope z
                   WHERE p.pathway_id = d.pathway_id AND pl.patient_id = p.patient_id AND z.person_id = pl.person_id AND'
             ELSE 'WHERE' END);
    INSERT INTO ptl.pathway_duplicate (pathway_id, kept_pathway_id, reason, found_on)
    SELECT f.pathway_id, f.kept_pathway_id, f.reason, f.found_on
    FROM pg_temp.duplicate_found f
    WHERE NOT EXISTS (SELECT 1 FROM ptl.pathway_duplicate d
                      WHERE d.pathway_id = f.pathway_id AND d.kept_pathway_id = f.kept_pathway_id
                        AND d.reason = f.reason);
    RETURN (SELECT count(*) FROM ptl.pathway_duplicate);
END
$$;
COMMENT ON FUNCTION ptl_internal.find_pathway_duplicates(date, boolean) IS
    'Internal to ptl.refresh: lists open pathway records that duplicate another open record of the same person (same UBRN, or the same treatment function), keeping the earliest clock start; of every person, or with incremental of the persons in pg_temp.duplicate_scope; a row found again keeps its found_on; returns the rows stored';

CREATE FUNCTION ptl_internal.find_pathway_duplicates(census date) RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
RETURN ptl_internal.find_pathway_duplicates(census, false);
COMMENT ON FUNCTION ptl_internal.find_pathway_duplicates(date) IS
    'Lists open pathway records that duplicate another open record of the same person (same UBRN, or the same treatment function), keeping the earliest clock start, over every person; a row found again keeps its found_on; returns the rows stored';
