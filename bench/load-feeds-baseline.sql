-- Baseline for the feeds in bench/load.sh: the same plain SQL for every
-- extract, generated from its specification (ptl.extract_column): each
-- staged column read into its type with a plain cast guarded by the
-- column's pattern (dates in SQL, as bench/load-baseline.sql reads them),
-- INSERT ... SELECT into a fresh table.  No parents, no quarantine, no
-- upsert, no accounting: the floor of reading an extract, for each feed.
-- Prints one line per extract: extract, rows, milliseconds.
\set ON_ERROR_STOP on
SET datestyle = 'ISO, DMY';
CREATE TEMP TABLE feed_baseline (extract text, rows bigint, ms numeric);
DO $$
DECLARE
    f record;
    cols text;
    started timestamptz;
    n bigint;
BEGIN
    FOR f IN SELECT x.extract FROM ptl.feed x WHERE x.capability <> 'pas' ORDER BY x.load_order LOOP
        CONTINUE WHEN to_regclass(format('bench.%I', f.extract)) IS NULL;
        SELECT string_agg(
                   CASE WHEN c.value_type = 'date'::regtype THEN format('bench.sql_date(btrim(s.%I)) AS %I', c.column_name, c.column_name)
                        WHEN c.value_type IN ('integer'::regtype, 'smallint'::regtype, 'bigint'::regtype)
                             THEN format('CASE WHEN btrim(s.%1$I) ~ ''^-?[0-9]{1,9}$'' THEN btrim(s.%1$I)::int END AS %1$I', c.column_name)
                        WHEN c.value_type = 'numeric'::regtype
                             THEN format('CASE WHEN btrim(s.%1$I) ~ ''^-?[0-9]+([.][0-9]+)?$'' THEN btrim(s.%1$I)::numeric END AS %1$I', c.column_name)
                        WHEN c.pattern IS NOT NULL
                             THEN format('CASE WHEN btrim(s.%1$I) ~ %2$L THEN btrim(s.%1$I) END AS %1$I', c.column_name, c.pattern)
                        WHEN c.allowed IS NOT NULL
                             THEN format('CASE WHEN btrim(s.%1$I) = ANY (%2$L::text[]) THEN btrim(s.%1$I) END AS %1$I', c.column_name, c.allowed)
                        ELSE format('nullif(btrim(s.%1$I), '''') AS %1$I', c.column_name) END,
                   ', ' ORDER BY c.ordinal)
        INTO cols
        FROM ptl.extract_column c WHERE c.extract = f.extract;
        started := clock_timestamp();
        EXECUTE format('CREATE TABLE bench.%I AS SELECT %s FROM bench.%I s', 'typed_' || f.extract, cols, f.extract);
        GET DIAGNOSTICS n = ROW_COUNT;
        INSERT INTO feed_baseline VALUES (f.extract, n, round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
    END LOOP;
END $$;
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
SELECT extract, rows, ms FROM feed_baseline;
