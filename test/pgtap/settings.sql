-- One settings mechanism (src/model/settings.sql): every capability's
-- settings table is a history made the same way, ptl.change_settings changes
-- some settings and keeps the others, and ptl.settings shows them all.
BEGIN;
SELECT plan(18);

-- The tables: found by their history's columns, each made whole.
SELECT is(ARRAY(SELECT t::text FROM ptl_internal.settings_tables() t),
    ARRAY['ptl.clinic_setting', 'ptl.link_setting', 'ptl.ops_setting', 'ptl.risk_setting',
          'ptl.rtt_setting', 'ptl.theatre_setting'],
    'the settings tables are the six that begin with setting_id, set_at, set_by and shipped');
CREATE TEMP TABLE made AS
SELECT t,
       (SELECT count(*) FROM pg_constraint c WHERE c.conrelid = t AND c.conname = (SELECT r.relname FROM pg_class r WHERE r.oid = t) || '_set_at_in_range') AS has_range,
       (SELECT count(*) FROM pg_extension e, unnest(e.extconfig, e.extcondition) x (rel, cond)
        WHERE e.extname = 'ptl' AND x.rel = t AND x.cond = 'WHERE NOT shipped') AS dumps_rows,
       (SELECT count(*) FROM pg_extension e, unnest(e.extconfig) x (rel)
        WHERE e.extname = 'ptl' AND x.rel = pg_get_serial_sequence(t::text, 'setting_id')::regclass) AS dumps_sequence,
       col_description(t, 2) AS set_at_comment
FROM ptl_internal.settings_tables() t;
CREATE FUNCTION pg_temp.shipped_row(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT string_agg(format(''%%s %%s %%s'', setting_id, set_at, set_by), '','') FROM %s WHERE shipped', t) INTO r;
    RETURN r;
END $$;
SELECT is((SELECT array_agg(t::text ORDER BY t::text) FROM made
           WHERE has_range <> 1 OR dumps_rows <> 1 OR dumps_sequence <> 1
              OR set_at_comment IS DISTINCT FROM 'When the settings were set'
              OR pg_temp.shipped_row(t) IS DISTINCT FROM '0 -infinity ptl'),
    NULL,
    'each has one shipped row of defaults (0, -infinity, ptl), the set_at range, pg_dump of the rows users add and of its sequence, and the history''s comments');

-- ptl.settings: one row per setting, in force, with the shipped default.
SELECT is((SELECT count(*) FROM ptl.settings),
    (SELECT count(*) FROM ptl_internal.settings_tables() t JOIN pg_attribute a ON a.attrelid = t
     WHERE a.attnum > 4 AND NOT a.attisdropped),
    'ptl.settings has one row for each setting of each table');
SELECT is((SELECT count(*) FROM ptl.settings WHERE description IS NULL), 0::bigint,
    'every setting says what it means');
SELECT is((SELECT value || ' ' || shipped_value FROM ptl.settings
           WHERE settings = 'ptl.rtt_setting'::regclass AND setting = 'unbooked_days'),
    '84 84', 'before any change, the value in force is the shipped default');

-- Changing some settings keeps the others in force (a plain INSERT naming
-- one column would give the rest their shipped defaults).
SELECT ok(ptl.change_settings('ptl.rtt_setting', '{"unbooked_days": 90}') > 0, 'a change returns its row');
SELECT ptl.change_settings('ptl.rtt_setting', '{"death_stop": "date_notified", "revalidate_days": 70}');
SELECT is((SELECT format('%s %s %s', s.unbooked_days, s.death_stop, s.revalidate_days) FROM ptl.rtt_setting_in_force() s),
    '90 date_notified 70', 'a second change keeps the first: every setting not named stays as it was');
SELECT is((SELECT string_agg(setting || '=' || value || ' (' || shipped_value || ')', ', ' ORDER BY setting)
           FROM ptl.settings WHERE settings = 'ptl.rtt_setting'::regclass AND value IS DISTINCT FROM shipped_value),
    'death_stop=date_notified (date_of_death), revalidate_days=70 (84), unbooked_days=90 (84)',
    'ptl.settings shows what differs from the shipped defaults');
SELECT is((SELECT set_by FROM ptl.rtt_setting ORDER BY setting_id DESC LIMIT 1), current_user::text,
    'a change says who made it');
SELECT ptl.change_settings('ptl.ops_setting', '{"snapshot_retention": null}');
SELECT is((SELECT value FROM ptl.settings WHERE settings = 'ptl.ops_setting'::regclass AND setting = 'snapshot_retention'),
    NULL, 'a JSON null sets a setting that may be empty (no retention: every snapshot kept)');
SELECT ptl.change_settings('ptl.ops_setting', '{"snapshot_retention": "5 years"}');
SELECT is((ptl.ops_setting_in_force()).snapshot_retention, interval '5 years',
    'a value is read by its column''s type (an interval from its text)');

-- What is refused, and nothing written when it is.
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM ptl.rtt_setting;
SELECT throws_ok($$SELECT ptl.change_settings('ptl.rtt_setting', '{"unbooked_day": 1}')$$, '42703',
    'ptl.rtt_setting has no setting unbooked_day', 'a setting the table lacks is named in the error');
SELECT throws_ok($$SELECT ptl.change_settings('ptl.rtt_setting', '{"unbooked_days": -1}')$$, '23514', NULL,
    'a value the setting''s CHECK refuses is refused');
SELECT throws_ok($$SELECT ptl.change_settings('ptl.patient', '{}')$$, '22023',
    'ptl.patient is not a table of ptl''s settings', 'only a settings table can be changed');
SELECT throws_ok($$SELECT ptl.change_settings('ptl.rtt_setting', '[1]')$$, '22023', NULL,
    'the changes must be a JSON object');
SELECT is((SELECT count(*) FROM ptl.rtt_setting), (SELECT n FROM before),
    'a refused change writes no row');

-- Who: readers read the settings; changing them is an administrator's.
SET LOCAL ROLE ptl_reader;
SELECT ok((SELECT count(*) FROM ptl.settings) > 0, 'a reader reads every setting in force');
SELECT throws_ok($$SELECT ptl.change_settings('ptl.ops_setting', '{"bed_horizon_days": 30}')$$, '42501', NULL,
    'a reader cannot change a setting');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
