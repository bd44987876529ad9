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

-- Shared by the care feeds' loaders: a staged value as the upsert takes it,
-- or NULL when the row loads without it (it is in the row's warn_columns).
CREATE FUNCTION ptl.load_kept(raw text, column_name text, warn_columns text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN column_name <> ALL (warn_columns) THEN ptl.extract_value(raw) END;
COMMENT ON FUNCTION ptl.load_kept(text, text, text[]) IS
    'Internal to the care feeds'' loaders: a staged value as loaded (spaces trimmed, empty as NULL), or NULL when the row loads without that column';

-- Shared by the care feeds' loaders: a row rule that leaves a column out
-- (warning, with its own reason) where a condition over the work table's
-- row w holds, for rows still good and still holding the column.
CREATE FUNCTION ptl.load_leave_out(extract_name text, column_name text, reason text, sqlstate text,
                                   message_sql text, condition_sql text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET warn_columns = w.warn_columns || %2$L::text,
            warn_notes = coalesce(w.warn_notes, '{}') || jsonb_build_object(%2$L, jsonb_build_object(
                'reason', %3$L, 'sqlstate', %4$L, 'message', %5$s))
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          -- (CASE: the condition, which may cast values, sees only rows
          -- still good that hold the column)
          AND CASE WHEN w.bad_column IS NULL AND w.reason IS NULL AND %2$L <> ALL (w.warn_columns)
                        AND ptl.extract_value(w.%2$I) IS NOT NULL
                   THEN (%6$s) END$q$,
        'ptl_load_' || extract_name, column_name, reason, sqlstate, message_sql, condition_sql);
END
$$;
COMMENT ON FUNCTION ptl.load_leave_out(text, text, text, text, text, text) IS
    'Internal to the care feeds'' loaders: a row rule that loads the good rows meeting a condition without a column (a warning with the rule''s reason)';

-- Shared by the care feeds' loaders: a row rule that quarantines the good
-- rows meeting a condition.
CREATE FUNCTION ptl.load_reject(extract_name text, column_name text, reason text, sqlstate text,
                                message_sql text, condition_sql text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        UPDATE pg_temp.%1$I w
        SET reason = %3$L, bad_sqlstate = %4$L, rule_column = %2$L, bad_message = %5$s
        WHERE w.bad_column IS NULL AND w.reason IS NULL
          AND CASE WHEN w.bad_column IS NULL AND w.reason IS NULL THEN (%6$s) END$q$,
        'ptl_load_' || extract_name, column_name, reason, sqlstate, message_sql, condition_sql);
END
$$;
COMMENT ON FUNCTION ptl.load_reject(text, text, text, text, text, text) IS
    'Internal to the care feeds'' loaders: a row rule that quarantines the good rows meeting a condition, with the rule''s reason, SQLSTATE and message';
