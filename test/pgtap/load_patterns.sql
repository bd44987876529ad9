-- The loader's test of a column's pattern is the pattern.
--
-- ptl_internal.pattern_fails_sql writes the test the loader applies to every
-- staged value.  A pattern that is one bracket expression repeated m to n
-- times is tested as "only characters of the class, and m to n of them"
-- (ten times faster in PostgreSQL); any other pattern as itself.  Property:
-- on 20,000 generated strings (every length from 0 to 45, characters inside
-- and outside each class, brackets, spaces, tabs, newlines, accents) the
-- test gives exactly the regular expression's answer, for every pattern of
-- ptl.extract_column and for patterns of the rewritten shape's edges.
BEGIN;
SELECT plan(4);

SELECT setseed(0.26);
CREATE TEMP TABLE probe AS
SELECT i, string_agg(substr(alphabet, 1 + floor(random() * length(alphabet))::int, 1), '' ORDER BY j) AS v
FROM (SELECT 'AZaz09_-.:;/ []^@!~' || E'\t\n' || 'éß€' || chr(127) || '+=(),' AS alphabet) a,
     generate_series(1, 20000) i
     CROSS JOIN LATERAL generate_series(1, i % 46) j
GROUP BY i, alphabet;
-- the empty string and the lengths not drawn above
INSERT INTO probe SELECT 0, '';
INSERT INTO probe SELECT 20000 + n, repeat('7', n) FROM generate_series(1, 45) n;

CREATE TEMP TABLE pattern_case (pattern text, rewritten boolean);
INSERT INTO pattern_case
SELECT DISTINCT pattern, NULL::boolean FROM ptl.extract_column WHERE pattern IS NOT NULL;
INSERT INTO pattern_case VALUES
    ('^[a-c]{0,3}$', NULL), ('^[x]{2}$', NULL), ('^[0-9]{2,}$', NULL), ('^[^ ]{1,4}$', NULL),
    ('^[[:alpha:]]{1,3}$', NULL), ('[0-9]{3}', NULL), ('^[]a]{1,2}$', NULL);
UPDATE pattern_case SET rewritten = position('length(' IN ptl_internal.pattern_fails_sql('v', pattern)) > 0;

CREATE FUNCTION pg_temp.disagreements(pattern text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM pg_temp.probe WHERE (v !~ %L) IS DISTINCT FROM (%s)',
                   pattern, ptl_internal.pattern_fails_sql('v', pattern)) INTO n;
    RETURN n;
END $$;

SELECT is((SELECT array_agg(pattern ORDER BY pattern) FROM pattern_case WHERE pg_temp.disagreements(pattern) > 0),
    NULL::text[],
    'for every pattern, the loader''s test fails exactly the values the regular expression does not match');
SELECT is((SELECT count(*) FROM pattern_case p JOIN ptl.extract_column c USING (pattern) WHERE p.rewritten),
    (SELECT count(*) FROM ptl.extract_column c
     WHERE c.pattern ~ '^\^\[[^][]+\]\{[0-9]+(,[0-9]+)?\}\$$'),
    'every column whose pattern is a class repeated m to n times is tested as class and length');
SELECT is((SELECT array_agg(pattern ORDER BY pattern) FROM pattern_case WHERE NOT rewritten
           AND pattern IN ('^[0-9]{2,}$', '^[[:alpha:]]{1,3}$', '[0-9]{3}', '^[]a]{1,2}$')),
    ARRAY['[0-9]{3}', '^[0-9]{2,}$', '^[[:alpha:]]{1,3}$', '^[]a]{1,2}$'],
    'an open range, a named class, an unanchored pattern and a class with a bracket are tested as written');
SELECT ok((SELECT count(DISTINCT v ~ '^[!-~]{1,40}$') = 2 AND count(DISTINCT length(v)) = 46 FROM probe),
    'the probe has values of every length from 0 to 45, some matching and some not');

SELECT * FROM finish();
ROLLBACK;
