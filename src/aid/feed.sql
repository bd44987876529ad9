-- ---------------------------------------------------------------------------
-- aid, the front door: patients' transfer preferences and mutual aid offers
-- (with their slots) as extracts of a trust's own systems, loaded by
-- ptl.load() like the PAS extracts (src/load/stage.sql, docs/loading.md).
--
-- Offers are also made in ptl itself by a trust's analyst
-- (ptl.add_mutual_aid_slots, ptl.set_mutual_aid_state): that workflow stays.
-- The extract is the documented path for an offer kept in a trust's own
-- system (its capacity or elective hub planning tool): the trust sends the
-- offer and its slots under its own references, and a re-sent offer changes
-- its details while it is still open.  Its state after that (agreed,
-- completed, withdrawn) moves only through ptl.set_mutual_aid_state, which
-- audits every change, so the extract has no state column.
-- ---------------------------------------------------------------------------

-- Shared by the care feeds (outpatient, beds, aid): a row naming a site
-- that belongs to another organisation than the batch's is quarantined.
-- A trust's extract loads into its own organisation's rows only (an unknown
-- code became a placeholder site of the batch's organisation before this:
-- ptl.load_placeholders).
CREATE FUNCTION ptl.load_mark_foreign_sites(batch bigint, extract_name text, column_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    org text := (SELECT b.org_code FROM ptl.batch b WHERE b.batch_id = load_mark_foreign_sites.batch);
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = 'unknown_parent', bad_sqlstate = '23503', rule_column = %2$L,
            bad_message = format('%2$s %%s is a site of %%s, not of %%s, which sent this batch', s.site_code, s.org_code, $1)
        FROM ptl.site s
        WHERE w.bad_column IS NULL AND w.reason IS NULL AND %2$L <> ALL (w.warn_columns)
          AND s.site_code = ptl.extract_value(w.%2$I) AND s.org_code <> $1$q$,
        'ptl_load_' || extract_name, column_name)
    USING org;
END
$$;
COMMENT ON FUNCTION ptl.load_mark_foreign_sites(bigint, text, text) IS
    'Internal to the care feeds'' loaders: quarantines (unknown_parent) rows whose site code is a site of another organisation than the batch''s';
