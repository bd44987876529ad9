-- Record linkage: the string comparisons, on their own (src/link/strings.c).
SET search_path = ptl, public;

-- Jaro and Jaro-Winkler against the published vectors (Winkler 1990):
-- Winkler's MARTHA/MARHTA, DWAYNE/DUANE and DIXON/DICKSONX, and the rest
-- computed with the standard algorithm (prefix scale 0.1, boost above 0.7).
SELECT a, b, round(jaro(a, b)::numeric, 6) AS jaro, round(jaro_winkler(a, b)::numeric, 6) AS jaro_winkler
FROM (VALUES ('MARTHA', 'MARHTA'), ('DWAYNE', 'DUANE'), ('DIXON', 'DICKSONX'), ('JONES', 'JOHNSON'),
             ('SMITH', 'SMYTH'), ('JOHN', 'JON'), ('CRATE', 'TRACE'), ('euler', 'heuser'),
             ('Euler', 'Euller'), ('', 'ABC'), ('A', 'A'), ('', ''), ('ABC', 'XYZ')) AS t (a, b);

-- Symmetric, and case sensitive (linkage upper-cases names first).
SELECT jaro_winkler('DUANE', 'DWAYNE') = jaro_winkler('DWAYNE', 'DUANE') AS symmetric,
       round(jaro_winkler('martha', 'MARTHA')::numeric, 6) AS case_sensitive;

-- Characters, not bytes: one accented letter is one character.
SELECT round(jaro_winkler('ZOË', 'ZOE')::numeric, 6) AS zoe, damerau_levenshtein('ZOË', 'ZOE') AS edits,
       round(jaro_winkler('ŁUKASZ', 'LUKASZ')::numeric, 6) AS lukasz;

-- Damerau-Levenshtein (optimal string alignment): a swap of neighbours is one edit.
SELECT a, b, damerau_levenshtein(a, b) AS edits
FROM (VALUES ('9434765919', '9434765919'), ('9434765919', '9434765991'), ('9434765919', '9434765910'),
             ('CA', 'ABC'), ('KITTEN', 'SITTING'), ('', 'ABC'), ('ABC', '')) AS t (a, b);

-- STRICT: NULL in, NULL out.
SELECT jaro_winkler(NULL, 'A') IS NULL AS jw_null, damerau_levenshtein('A', NULL) IS NULL AS dl_null;

-- The comparison vector of two normalised records: four bits per field,
-- read through ptl.link_level.
CREATE FUNCTION pg_temp.levels(a link_fields, b link_fields) RETURNS TABLE (field text, level int, label text)
LANGUAGE sql AS $$
    SELECT lv.field, lv.level, lv.label FROM link_level lv
    WHERE lv.level = (link_compare(a, b) >> (4 * lv.field_no)) & 15 ORDER BY lv.field_no
$$;
SELECT * FROM pg_temp.levels(
    ROW('9434765919', 'JOHN', 'SMITH', '1950-03-04', '1', 'QA11AB', '12 MILL ROAD', 'DORCHESTER', '01305123456',
        'john.smith@example.org')::link_fields,
    ROW('9434765919', 'JON', 'SMYTH', '1950-04-03', '1', 'QA12CD', '14 MILL ROAD', 'DORCHESTR', '01305123465',
        'jsmith@example.org')::link_fields);
SELECT * FROM pg_temp.levels(
    ROW('9434765919', 'JOHN', 'SMITH', '1950-03-04', '1', 'QA11AB', '12 MILL ROAD', 'DORCHESTER', '01305123456',
        'john.smith@example.org')::link_fields,
    ROW('9434765991', 'PETER', 'JONES', '1950-03-14', '2', 'QB11AB', NULL, 'WEYMOUTH', NULL,
        'john.smith@example.org')::link_fields);
-- A name that is part of the other (level 8) where Jaro-Winkler sees too
-- little: a double-barrelled family name against its second half, a middle
-- name run in before the given name.  Its start is already close by
-- Jaro-Winkler (the prefix counts), as is an initial; two letters are too
-- few to say anything.
SELECT a, b, (link_compare(ROW(NULL, NULL, a, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::link_fields,
                           ROW(NULL, NULL, b, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::link_fields) >> 8) & 15 AS level
FROM (VALUES ('SMITHJONES', 'JONES'), ('SMITHJONES', 'SMITH'), ('ANNEMARIE', 'MARIE'), ('JONES', 'BROWN'),
             ('KHAN', 'AHMEDKHAN'), ('LI', 'XLI')) AS t (a, b);
-- Birth dates: two adjacent digits swapped (2), one digit wrong or the
-- year one out (3), different (4), two of year, month and day agree by
-- coincidence (5).
SELECT d1, d2, (link_compare(ROW(NULL, NULL, NULL, d1, NULL, NULL, NULL, NULL, NULL, NULL)::link_fields,
                             ROW(NULL, NULL, NULL, d2, NULL, NULL, NULL, NULL, NULL, NULL)::link_fields) >> 12) & 15 AS level
FROM (VALUES ('1950-03-14'::date, '1950-03-14'::date), ('1950-03-14', '1905-03-14'), ('1950-03-14', '1950-03-11'),
             ('1950-03-14', '1950-03-15'), ('1950-03-14', '1951-03-14'), ('1950-03-14', '1950-04-14'),
             ('1950-03-14', '1962-07-01'), ('1969-06-30', '1970-06-30'), ('1950-03-14', '1970-03-14'),
             ('1950-03-14', '1950-03-28')) AS t (d1, d2);
-- A family name that differs between two records of women (a surname
-- changed at marriage) is a level of its own; sex is then counted in it
-- (level 0), not a second time.  Between two men it stays "different".
SELECT * FROM pg_temp.levels(
    ROW(NULL, 'MARY', 'SMITH', '1980-05-06', '2', NULL, NULL, NULL, NULL, NULL)::link_fields,
    ROW(NULL, 'MARY', 'JONES', '1980-05-06', '2', NULL, NULL, NULL, NULL, NULL)::link_fields);
SELECT * FROM pg_temp.levels(
    ROW(NULL, 'JOHN', 'SMITH', '1980-05-06', '1', NULL, NULL, NULL, NULL, NULL)::link_fields,
    ROW(NULL, 'JOHN', 'JONES', '1980-05-06', '1', NULL, NULL, NULL, NULL, NULL)::link_fields);
