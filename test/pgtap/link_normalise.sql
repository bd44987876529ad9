-- A record as linkage compares it (ptl_internal.link_normalise, in C): each
-- field's rule is the SQL expression releases before 0.4.0 ran, and the C
-- must give what that expression gives on any text, in the database's own
-- collation: ASCII punctuation, tabs, non-breaking spaces, letters outside
-- ASCII (which the collation may or may not class as letters), symbols, and
-- telephone numbers written every way (+44, 0044, 44 0, brackets).
BEGIN;
SELECT plan(18);
CREATE EXTENSION IF NOT EXISTS ptl_synth;

-- The rules, as SQL (the oracle).
CREATE FUNCTION pg_temp.sql_fields(nhs text, given text, family text, dob date, sex text, postcode text,
                                   address text, town text, telephone text, email text) RETURNS ptl.link_fields
LANGUAGE sql IMMUTABLE
RETURN ROW(
    nullif(upper(regexp_replace(nhs, '[^[:alnum:]]', '', 'g')), ''),
    nullif(upper(regexp_replace(given, '[^[:alpha:]]', '', 'g')), ''),
    nullif(upper(regexp_replace(family, '[^[:alpha:]]', '', 'g')), ''),
    dob,
    CASE WHEN sex IN ('1', '2') THEN sex END,
    nullif(upper(regexp_replace(postcode, '[^[:alnum:]]', '', 'g')), ''),
    nullif(upper(btrim(regexp_replace(address, '[^[:alnum:]]+', ' ', 'g'))), ''),
    nullif(upper(btrim(regexp_replace(town, '[^[:alnum:]]+', ' ', 'g'))), ''),
    nullif(regexp_replace(regexp_replace(telephone, '[^0-9]', '', 'g'), '^(00)?440?([1-9])', '0\2'), ''),
    nullif(lower(btrim(email)), '')
)::ptl.link_fields;

-- Worked examples.
SELECT is(ptl_internal.link_normalise(' 943 476-5919 ', ' o''Neil-Smith ', 'de la Cruz2', '1950-03-01', '2',
                                      'dt1  1aa', ' 12,  High St. ', '--Dorchester on  Thames--', '+44 (0)1305 123456',
                                      '  Ann.Smith@Example.ORG '),
          ROW('9434765919', 'ONEILSMITH', 'DELACRUZ', '1950-03-01', '2', 'DT11AA', '12 HIGH ST', 'DORCHESTER ON THAMES',
              '01305123456', 'ann.smith@example.org')::ptl.link_fields,
          'worked example: every field by its rule');
SELECT is(ptl_internal.link_normalise(NULL, '-', '', NULL, '9', '  ', ' ,. ', NULL, 'none', '   '),
          ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::ptl.link_fields,
          'a field with nothing left after its rule is missing (NULL), and sex 9 says nothing');
SELECT is(ARRAY[(ptl_internal.link_normalise(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, t, NULL)).telephone],
          ARRAY[e], format('telephone %s is %s', t, e))
FROM (VALUES ('+44 1305 123456', '01305123456'), ('0044 1305 123456', '01305123456'), ('441305123456', '01305123456'),
             ('+44 (0)1305 123456', '01305123456'), ('0044 (0) 1305', '01305'), ('44 00 1', '44001'),
             ('0044', '0044'), ('(01305) 123456', '01305123456'), ('07700 900123', '07700900123')) AS x(t, e);

-- Any text: 4,000 strings of 0 to 16 characters drawn from an alphabet of
-- ASCII letters, digits, punctuation and space characters, letters and
-- symbols outside ASCII, reproducibly.
CREATE TEMP TABLE drawn AS
SELECT i, string_agg(substr(a.alphabet, 1 + (abs(hashint8extended(i * 64 + j, 11)) % length(a.alphabet))::int, 1), ''
                     ORDER BY j) AS v
FROM (VALUES ('aZq Ö9 -.,''/é ßıİñŁ’–😀+0(4)' || chr(160) || chr(9) || '@Ǆǅ')) AS a(alphabet),
     generate_series(1, 4000) AS i
LEFT JOIN LATERAL generate_series(1, i % 17) AS j ON true
GROUP BY i, a.alphabet;
-- and numbers as people write them, with international prefixes
INSERT INTO drawn
SELECT 10000 + i, (ARRAY['+44', '0044', '44', '44 0', '00 44', '+44(0)', '', '0'])[1 + i % 8]
                  || ' ' || substr(md5(i::text), 1, 3 + i % 9)
FROM generate_series(1, 2000) AS i;
CREATE TEMP TABLE both_ways AS
SELECT d.v, ptl_internal.link_normalise(d.v, d.v, d.v, NULL, d.v, d.v, d.v, d.v, d.v, d.v) AS c,
       pg_temp.sql_fields(d.v, d.v, d.v, NULL, d.v, d.v, d.v, d.v, d.v, d.v) AS s
FROM drawn d;
SELECT is((SELECT count(*) FROM both_ways WHERE (c).nhs_number IS DISTINCT FROM (s).nhs_number
                                             OR (c).postcode IS DISTINCT FROM (s).postcode), 0::bigint,
          'NHS number and postcode: letters and digits only, upper case, as the SQL rule, on any text');
SELECT is((SELECT count(*) FROM both_ways WHERE (c).given_name IS DISTINCT FROM (s).given_name
                                             OR (c).family_name IS DISTINCT FROM (s).family_name), 0::bigint,
          'names: letters only, upper case, as the SQL rule, on any text');
SELECT is((SELECT count(*) FROM both_ways WHERE (c).address IS DISTINCT FROM (s).address
                                             OR (c).town IS DISTINCT FROM (s).town), 0::bigint,
          'address and town: each run of other characters one space, trimmed, upper case, as the SQL rule');
SELECT is((SELECT count(*) FROM both_ways WHERE (c).telephone IS DISTINCT FROM (s).telephone), 0::bigint,
          'telephone: the digits in national form, as the SQL rule, on any text');
SELECT is((SELECT count(*) FROM both_ways WHERE (c).email IS DISTINCT FROM (s).email
                                             OR (c).sex IS DISTINCT FROM (s).sex), 0::bigint,
          'email trimmed and lower case, sex 1 or 2, as the SQL rules');
SELECT ok((SELECT count(*) FILTER (WHERE v ~ '[^[:ascii:]]') > 1000 AND count(*) FILTER (WHERE (c).given_name IS NULL) > 100
           FROM both_ways), 'the drawn texts include many outside ASCII and many with no letter at all');

-- Whole records of the generator's hard world (slips, swaps, missing values).
SELECT ptl_synth.link_world(2000, 5, 'hard') > 0 AS made \gset
SELECT is((SELECT count(*) FROM ptl.patient p
           WHERE ptl_internal.link_fields_of(p)
                 IS DISTINCT FROM pg_temp.sql_fields(coalesce(p.nhs_number::text, p.nhs_number_as_recorded), p.given_name,
                                                     p.family_name, p.date_of_birth, p.sex, p.postcode, p.address_line_1,
                                                     p.town, p.telephone, p.email)),
          0::bigint, 'every generated record normalises as the SQL rules do');

SELECT * FROM finish();
ROLLBACK;
