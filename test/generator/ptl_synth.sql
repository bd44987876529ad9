-- ---------------------------------------------------------------------------
-- ptl_synth: a seeded, deterministic synthetic integrated care system (ICS).
--
-- ptl_synth.generate() invents an ICS (trusts, sites, commissioners, small
-- areas), its patients and their elective pathways, and writes what each
-- site's patient administration system would send into ptl's staging tables
-- (ptl_stage.*), one load batch per site.  It keeps the truth behind the
-- extracts in this schema: the real person behind each patient record, the
-- expected clock of each pathway, and every fault it injected on purpose.
--
-- Everything is synthetic.  No row describes a real person: names, addresses
-- and NHS numbers are drawn from small invented lists and number ranges that
-- are never issued to patients (NHS numbers start with 9, see
-- generate(), step 4).  Randomness is a hash of (row, stream, seed), so
-- the same arguments give byte-identical staging rows on any machine.
--
-- Calibration (the shapes of waits and of the specialty mix) comes from NHS
-- England's published RTT waiting-times statistics.  Contains public sector
-- information licensed under the Open Government Licence v3.0 (source: NHS
-- England, Referral to Treatment waiting times statistics).  The figures were
-- derived once, offline, and are stored below as data; the CSV files are not
-- read at run time.
-- ---------------------------------------------------------------------------
\echo Use "CREATE EXTENSION ptl_synth" to load this file. \quit

COMMENT ON SCHEMA ptl_synth IS
    'Synthetic ICS generator for ptl''s tests, demos and benchmarks: generate() fills ptl_stage with invented extracts and keeps their truth here';

-- ---------------------------------------------------------------------------
-- Deterministic randomness and small pure helpers.  All are plain SQL
-- expressions without SET clauses so that the planner inlines them (a SQL
-- function called per row without inlining costs tens of microseconds).
-- Functions whose body is a CASE are not STRICT, because the planner does
-- not inline a STRICT function with a non-strict body; they still return
-- NULL for NULL input.
-- ---------------------------------------------------------------------------

-- A uniform number in [0, 1) from a 64-bit key and a seed, built on
-- PostgreSQL's extended int8 hash (the hash-partitioning hash, stable across
-- platforms and releases).  The hash is applied twice: the high half of one
-- application is visibly correlated between keys a few apart (measured:
-- conditional means off by 0.2), which the second application removes.  The
-- result keeps 53 bits.
CREATE FUNCTION ptl_synth.u(k bigint, s bigint) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((pg_catalog.hashint8extended(pg_catalog.hashint8extended(k, s), s) >> 11)
        & 9007199254740991)::float8 / 9007199254740992.0;
COMMENT ON FUNCTION ptl_synth.u(bigint, bigint) IS
    'Deterministic pseudo-random number in [0, 1) for key k under seed s (a hash, not random())';

-- A day count inside an RTT weekly band (RTT guidance 10.1.7): band 0 is 0..7
-- days, band k is 7k+1..7k+7, band 104 (over 104 weeks) is 729 days or more
-- (the generator spreads it over eight weeks).
CREATE FUNCTION ptl_synth.band_days(band int, v float8) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN band <= 0 THEN pg_catalog.floor(v * 8)::int
            WHEN band >= 104 THEN 729 + pg_catalog.floor(v * 56)::int
            ELSE 7 * band + 1 + pg_catalog.floor(v * 7)::int END;
COMMENT ON FUNCTION ptl_synth.band_days(int, float8) IS
    'A whole number of days inside RTT week band "band" (0 = 0-7 days, k = 7k+1..7k+7, 104 = 729+), chosen by v in [0, 1)';

-- Modulus 11 remainder of the weighted sum of a 9-digit NHS number prefix
-- (weights 10..2, NHS Data Dictionary NHS NUMBER).
CREATE FUNCTION ptl_synth.mod11_remainder(n9 bigint) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((10 * (n9 / 100000000 % 10) + 9 * (n9 / 10000000 % 10) + 8 * (n9 / 1000000 % 10)
       + 7 * (n9 / 100000 % 10) + 6 * (n9 / 10000 % 10) + 5 * (n9 / 1000 % 10)
       + 4 * (n9 / 100 % 10) + 3 * (n9 / 10 % 10) + 2 * (n9 % 10)) % 11)::int;
COMMENT ON FUNCTION ptl_synth.mod11_remainder(bigint) IS
    'Remainder mod 11 of the NHS number weighted sum of a 9-digit prefix (a remainder of 1 means no valid check digit exists)';

-- The check digit of a 9-digit prefix: 11 minus the remainder, 11 giving 0
-- (callers never pass a prefix whose remainder is 1, which has none).
CREATE FUNCTION ptl_synth.nhs_check_digit(n9 bigint) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (11 - ptl_synth.mod11_remainder(n9)) % 11;
COMMENT ON FUNCTION ptl_synth.nhs_check_digit(bigint) IS
    'Modulus 11 check digit of a 9-digit NHS number prefix (meaningless when mod11_remainder is 1)';

-- 943 476 5919 display form (NHS CUI guidance) or plain digits.
CREATE FUNCTION ptl_synth.format_nhs(n text, spaced boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN spaced AND pg_catalog.length(n) = 10
            THEN pg_catalog.substr(n, 1, 3) || ' ' || pg_catalog.substr(n, 4, 3) || ' ' || pg_catalog.substr(n, 7)
            ELSE n END;
COMMENT ON FUNCTION ptl_synth.format_nhs(text, boolean) IS
    'An NHS number as a site writes it: 3-3-4 with spaces when spaced, else the plain digits';

-- A date as a site's system writes it.  ISO needs DateStyle ISO, which
-- generate() sets for itself.
CREATE FUNCTION ptl_synth.fmt_date(d date, dmy boolean) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN d IS NULL THEN NULL
            WHEN dmy THEN pg_catalog.to_char(d, 'DD/MM/YYYY')
            ELSE d::text END;
COMMENT ON FUNCTION ptl_synth.fmt_date(date, boolean) IS
    'A date as an extract carries it: DD/MM/YYYY for sites that write day first, else YYYY-MM-DD (under DateStyle ISO)';

-- Typing slips used on the second record of a person (linkage faults).
CREATE FUNCTION ptl_synth.transpose_at(s text, k int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.substr(s, 1, k - 1) || pg_catalog.substr(s, k + 1, 1)
       || pg_catalog.substr(s, k, 1) || pg_catalog.substr(s, k + 2);
COMMENT ON FUNCTION ptl_synth.transpose_at(text, int) IS
    'The text with characters k and k+1 swapped (a transposition typo)';

CREATE FUNCTION ptl_synth.drop_at(s text, k int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.substr(s, 1, k - 1) || pg_catalog.substr(s, k + 1);
COMMENT ON FUNCTION ptl_synth.drop_at(text, int) IS
    'The text without its k-th character (a dropped-letter typo)';

-- Which site a referral goes to when nothing forces it: the person's home
-- site 80% of the time, another site of the same trust 10%, any site 10%.
-- (Author's judgement: most elective referrals go to the local hospital.)
CREATE FUNCTION ptl_synth.natural_site(k bigint, s bigint, home int, per_trust int, n_sites int)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN n_sites = 1 OR ptl_synth.u(k * 64 + 2, s) < 0.8 THEN home
            WHEN ptl_synth.u(k * 64 + 2, s) < 0.9 AND per_trust > 1
            THEN (home / per_trust) * per_trust
                 + ((home % per_trust) + 1 + pg_catalog.floor(ptl_synth.u(k * 64 + 3, s) * (per_trust - 1))::int) % per_trust
            ELSE pg_catalog.floor(ptl_synth.u(k * 64 + 3, s) * n_sites)::int END;
COMMENT ON FUNCTION ptl_synth.natural_site(bigint, bigint, int, int, int) IS
    'Site index (0-based) that referral k goes to: mostly the person''s home site';

-- The hospital number a site's system gives a person: the style differs by
-- system; the number is a bijection of the person id (unique per system).
CREATE FUNCTION ptl_synth.local_patient_id(style int, site_code text, person bigint, salt bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE style % 4
         WHEN 0 THEN 'H' || pg_catalog.lpad(((person * 7907 + salt) % 100000000)::text, 8, '0')
         WHEN 1 THEN 'MRN' || pg_catalog.lpad(((person * 7907 + salt) % 100000000)::text, 8, '0')
         WHEN 2 THEN site_code || '-' || ((person * 7907 + salt) % 100000000)::text
         ELSE pg_catalog.lpad(((person * 7907 + salt) % 100000000)::text, 10, '0') END;
COMMENT ON FUNCTION ptl_synth.local_patient_id(int, text, bigint, bigint) IS
    'Synthetic hospital number of a person in one site''s system (four house styles)';

-- Trust code k (1-based): RZ1..RZ9, RY1..RY9, ... (3-character, ODS-like).
CREATE FUNCTION ptl_synth.trust_code(k int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN 'R' || pg_catalog.substr('ZYXWVUTSQP', (k - 1) / 9 + 1, 1) || ((k - 1) % 9 + 1)::text;
COMMENT ON FUNCTION ptl_synth.trust_code(int) IS
    'ODS-like code of synthetic trust k (1 to 90): RZ1 ... RZ9, RY1 ...';

-- What kind of event a slot of the event plan is (see generate()).
CREATE FUNCTION ptl_synth.slot_kind(slot int, role text, scenario text,
                                    provider_cancel boolean, later_dna boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE slot
    WHEN 1 THEN CASE WHEN role = 'transfer_in' THEN 'transfer_in' ELSE 'referral' END
    WHEN 2 THEN CASE WHEN provider_cancel THEN 'provider_cancel' ELSE 'patient_cancel' END
    WHEN 3 THEN CASE WHEN scenario IN ('nullified', 'dna_rebooked') THEN 'dna' ELSE 'outpatient' END
    WHEN 4 THEN 'outpatient'
    WHEN 5 THEN CASE WHEN later_dna THEN 'dna' ELSE 'outpatient' END
    WHEN 6 THEN 'decision_to_admit'
    WHEN 7 THEN 'tci_offer'
    WHEN 8 THEN 'tci_declined'
    WHEN 9 THEN 'tci_offer'
    WHEN 10 THEN CASE scenario
                    WHEN 'stop_admitted' THEN 'admission'
                    WHEN 'stop_treated' THEN 'outpatient'
                    WHEN 'stop_discharged' THEN 'discharge'
                    WHEN 'stop_active_monitoring' THEN 'decision'
                    WHEN 'am_restarted' THEN 'decision'
                    WHEN 'stop_declined' THEN 'decision'
                    WHEN 'stop_died' THEN 'death'
                    WHEN 'transferred' THEN 'transfer_out' END
    WHEN 11 THEN 'outpatient'
    WHEN 12 THEN CASE WHEN scenario = 'am_restarted' THEN 'patient_ready' ELSE 'referral' END
    WHEN 13 THEN 'outpatient' END;
COMMENT ON FUNCTION ptl_synth.slot_kind(int, text, text, boolean, boolean) IS
    'Event kind (ptl.event_kind label) of a slot of generate()''s per-pathway event plan';

CREATE FUNCTION ptl_synth.slot_status(slot int, role text, scenario text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE slot
    WHEN 1 THEN CASE WHEN role = 'transfer_in' THEN '20' END
    WHEN 3 THEN CASE WHEN scenario IN ('nullified', 'dna_rebooked') THEN '33'
                     WHEN role = 'transfer_in' THEN '20' ELSE '10' END
    WHEN 4 THEN '20'
    WHEN 5 THEN '20'
    WHEN 6 THEN '20'
    WHEN 10 THEN CASE scenario
                    WHEN 'stop_admitted' THEN '30'
                    WHEN 'stop_treated' THEN '30'
                    WHEN 'stop_discharged' THEN '34'
                    WHEN 'stop_active_monitoring' THEN '32'
                    WHEN 'am_restarted' THEN '32'
                    WHEN 'stop_declined' THEN '35'
                    WHEN 'stop_died' THEN '36'
                    WHEN 'transferred' THEN '21' END
    WHEN 11 THEN CASE WHEN scenario IN ('stop_active_monitoring', 'am_restarted') THEN '91' ELSE '90' END
    WHEN 12 THEN CASE WHEN scenario = 'am_restarted' THEN '11' END
    WHEN 13 THEN CASE WHEN scenario = 'am_restarted' THEN '20' ELSE '10' END
    END;
COMMENT ON FUNCTION ptl_synth.slot_status(int, text, text) IS
    'National RTT period status (two digits) recorded on a slot of generate()''s event plan, or NULL for events that carry none';

-- Keys of staged event and waiting-list rows (unique within their pathway;
-- the plan number makes them unique within a system too).
CREATE FUNCTION ptl_synth.event_ref(plan_id bigint, slot int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN 'EV' || plan_id::text || '-' || pg_catalog.lpad(slot::text, 2, '0');
COMMENT ON FUNCTION ptl_synth.event_ref(bigint, int) IS
    'event_ref of the event in slot "slot" of pathway record plan_id';

CREATE FUNCTION ptl_synth.entry_ref(plan_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN 'WL' || plan_id::text;
COMMENT ON FUNCTION ptl_synth.entry_ref(bigint) IS
    'entry_ref of the waiting-list entry of pathway record plan_id';
-- ---------------------------------------------------------------------------
-- Calibration data.  Derived once, offline, from NHS England's published RTT
-- statistics (Open Government Licence v3.0: contains public sector
-- information licensed under the OGL v3.0; source NHS England, RTT waiting
-- times).  Source files (kept outside this repository):
--   20241130-RTT-November-2024-RBD.csv  (one provider's November 2024 full
--       CSV extract: Dorset County Hospital NHS FT, RBD), and
--   rtt_overview_timeseries_2007-04_to_2023-08.csv  (England, monthly).
-- ---------------------------------------------------------------------------

-- Week-band shapes of waits.  rbd_* are RBD's November 2024 counts summed
-- over commissioners (C_999 rows).  The incomplete shapes keep RBD's shape
-- inside each segment but are rescaled to England's August 2023 headline
-- figures (overview time series): 58.0% within 18 weeks (bands 0-17), 5.12%
-- over 52 weeks, 1.41% over 65, 0.116% over 78, 0.0034% over 104.  RBD has
-- too few long waiters to shape the tail, so bands 52+ use a geometric
-- decline inside each national segment (ratio 0.9 for 52-65, 0.85 beyond),
-- split between admitted and non-admitted as RBD splits its 52+ waiters
-- (66% with a decision to admit).  The completed shapes are RBD's Part_1A
-- and Part_1B bands as published.
CREATE TABLE ptl_synth.wait_shape (
    band                        int PRIMARY KEY CHECK (band BETWEEN 0 AND 104),
    rbd_part_2                  int NOT NULL,
    rbd_part_2a                 int NOT NULL,
    rbd_part_1a                 int NOT NULL,
    rbd_part_1b                 int NOT NULL,
    w_open_non_admitted         float8 NOT NULL,
    w_open_admitted             float8 NOT NULL,
    w_completed_admitted        float8 NOT NULL,
    w_completed_non_admitted    float8 NOT NULL
);
COMMENT ON TABLE ptl_synth.wait_shape IS
    'Week-band distributions of waits the generator samples from (source: NHS England RTT statistics, OGL v3.0; RBD November 2024 and England August 2023)';
COMMENT ON COLUMN ptl_synth.wait_shape.band IS 'RTT week band: 0 = 0-1 weeks ... 104 = over 104 weeks';
COMMENT ON COLUMN ptl_synth.wait_shape.rbd_part_2 IS 'RBD November 2024: incomplete pathways in the band (Part_2)';
COMMENT ON COLUMN ptl_synth.wait_shape.rbd_part_2a IS 'RBD November 2024: incomplete pathways with a decision to admit (Part_2A)';
COMMENT ON COLUMN ptl_synth.wait_shape.rbd_part_1a IS 'RBD November 2024: completed admitted pathways (Part_1A)';
COMMENT ON COLUMN ptl_synth.wait_shape.rbd_part_1b IS 'RBD November 2024: completed non-admitted pathways (Part_1B)';
COMMENT ON COLUMN ptl_synth.wait_shape.w_open_non_admitted IS 'Share of waiting pathways without a decision to admit in the band (RBD Part_2 minus Part_2A, rescaled to England''s 2023-08 headline shape)';
COMMENT ON COLUMN ptl_synth.wait_shape.w_open_admitted IS 'Share of waiting pathways with a decision to admit in the band (RBD Part_2A, rescaled likewise)';
COMMENT ON COLUMN ptl_synth.wait_shape.w_completed_admitted IS 'Share of admitted clock stops in the band (RBD Part_1A)';
COMMENT ON COLUMN ptl_synth.wait_shape.w_completed_non_admitted IS 'Share of non-admitted clock stops in the band (RBD Part_1B)';

INSERT INTO ptl_synth.wait_shape VALUES
    (0, 1021, 162, 76, 355, 0.05311875, 0.02975716, 0.04922280, 0.12136752),
    (1, 1022, 118, 169, 313, 0.05590145, 0.02167497, 0.10945596, 0.10700855),
    (2, 994, 191, 111, 191, 0.04965583, 0.03508406, 0.07189119, 0.06529915),
    (3, 987, 176, 104, 160, 0.05015053, 0.03232877, 0.06735751, 0.05470085),
    (4, 842, 118, 87, 131, 0.04477063, 0.02167497, 0.05634715, 0.04478632),
    (5, 802, 113, 72, 105, 0.04260631, 0.02075654, 0.04663212, 0.03589744),
    (6, 721, 116, 56, 78, 0.03741192, 0.02130760, 0.03626943, 0.02666667),
    (7, 726, 114, 34, 67, 0.03784479, 0.02094022, 0.02202073, 0.02290598),
    (8, 675, 98, 32, 61, 0.03568046, 0.01800125, 0.02072539, 0.02085470),
    (9, 640, 105, 20, 53, 0.03308327, 0.01928705, 0.01295337, 0.01811966),
    (10, 691, 94, 27, 60, 0.03691722, 0.01726650, 0.01748705, 0.02051282),
    (11, 571, 82, 15, 62, 0.03023873, 0.01506227, 0.00971503, 0.02119658),
    (12, 573, 104, 15, 44, 0.02900197, 0.01910336, 0.00971503, 0.01504274),
    (13, 431, 84, 20, 45, 0.02145775, 0.01542964, 0.01295337, 0.01538462),
    (14, 464, 102, 14, 53, 0.02238532, 0.01873599, 0.00906736, 0.01811966),
    (15, 440, 74, 11, 44, 0.02263267, 0.01359278, 0.00712435, 0.01504274),
    (16, 484, 100, 14, 37, 0.02374575, 0.01836862, 0.00906736, 0.01264957),
    (17, 455, 92, 8, 38, 0.02244715, 0.01689913, 0.00518135, 0.01299145),
    (18, 433, 96, 17, 49, 0.01950180, 0.01650205, 0.01101036, 0.01675214),
    (19, 501, 106, 9, 35, 0.02285819, 0.01822101, 0.00582902, 0.01196581),
    (20, 395, 86, 11, 24, 0.01788147, 0.01478308, 0.00712435, 0.00820513),
    (21, 418, 81, 9, 23, 0.01950180, 0.01392360, 0.00582902, 0.00786325),
    (22, 437, 93, 7, 26, 0.01990688, 0.01598636, 0.00453368, 0.00888889),
    (23, 395, 105, 7, 25, 0.01678196, 0.01804912, 0.00453368, 0.00854701),
    (24, 380, 122, 7, 24, 0.01493016, 0.02097135, 0.00453368, 0.00820513),
    (25, 384, 106, 4, 23, 0.01608754, 0.01822101, 0.00259067, 0.00786325),
    (26, 308, 80, 12, 29, 0.01319410, 0.01375171, 0.00777202, 0.00991453),
    (27, 346, 105, 10, 32, 0.01394639, 0.01804912, 0.00647668, 0.01094017),
    (28, 314, 97, 5, 35, 0.01255754, 0.01667394, 0.00323834, 0.01196581),
    (29, 220, 72, 14, 39, 0.00856459, 0.01237654, 0.00906736, 0.01333333),
    (30, 307, 110, 10, 39, 0.01140016, 0.01890860, 0.00647668, 0.01333333),
    (31, 267, 107, 7, 29, 0.00925901, 0.01839291, 0.00453368, 0.00991453),
    (32, 274, 110, 12, 22, 0.00949049, 0.01890860, 0.00777202, 0.00752137),
    (33, 247, 87, 4, 26, 0.00925901, 0.01495498, 0.00259067, 0.00888889),
    (34, 193, 84, 13, 23, 0.00630770, 0.01443929, 0.00841969, 0.00786325),
    (35, 215, 70, 5, 31, 0.00839098, 0.01203274, 0.00323834, 0.01059829),
    (36, 222, 81, 12, 32, 0.00815951, 0.01392360, 0.00777202, 0.01094017),
    (37, 177, 70, 20, 23, 0.00619197, 0.01203274, 0.01295337, 0.00786325),
    (38, 255, 119, 15, 27, 0.00787016, 0.02045566, 0.00971503, 0.00923077),
    (39, 213, 76, 10, 14, 0.00792803, 0.01306412, 0.00647668, 0.00478632),
    (40, 213, 84, 14, 25, 0.00746508, 0.01443929, 0.00906736, 0.00854701),
    (41, 184, 82, 18, 16, 0.00590262, 0.01409550, 0.01165803, 0.00547009),
    (42, 210, 86, 14, 26, 0.00717574, 0.01478308, 0.00906736, 0.00888889),
    (43, 175, 94, 18, 14, 0.00468738, 0.01615826, 0.01165803, 0.00478632),
    (44, 145, 81, 12, 18, 0.00370361, 0.01392360, 0.00777202, 0.00615385),
    (45, 148, 75, 14, 15, 0.00422443, 0.01289223, 0.00906736, 0.00512821),
    (46, 122, 64, 15, 13, 0.00335639, 0.01100137, 0.00971503, 0.00444444),
    (47, 120, 73, 11, 15, 0.00271984, 0.01254843, 0.00712435, 0.00512821),
    (48, 57, 24, 16, 20, 0.00190967, 0.00412551, 0.01036269, 0.00683761),
    (49, 77, 34, 20, 27, 0.00248836, 0.00584448, 0.01295337, 0.00923077),
    (50, 90, 51, 18, 22, 0.00225688, 0.00876671, 0.01165803, 0.00752137),
    (51, 74, 39, 17, 13, 0.00202541, 0.00670396, 0.01101036, 0.00444444),
    (52, 100, 56, 22, 18, 0.00223862, 0.01308587, 0.01424870, 0.00615385),
    (53, 79, 41, 22, 20, 0.00201476, 0.01177728, 0.01424870, 0.00683761),
    (54, 92, 65, 20, 14, 0.00181328, 0.01059955, 0.01295337, 0.00478632),
    (55, 56, 43, 10, 18, 0.00163195, 0.00953960, 0.00647668, 0.00615385),
    (56, 34, 24, 18, 13, 0.00146876, 0.00858564, 0.01165803, 0.00444444),
    (57, 41, 25, 10, 13, 0.00132188, 0.00772707, 0.00647668, 0.00444444),
    (58, 47, 32, 11, 7, 0.00118969, 0.00695437, 0.00712435, 0.00239316),
    (59, 43, 29, 12, 5, 0.00107072, 0.00625893, 0.00777202, 0.00170940),
    (60, 28, 19, 13, 4, 0.00096365, 0.00563304, 0.00841969, 0.00136752),
    (61, 26, 20, 15, 5, 0.00086729, 0.00506973, 0.00971503, 0.00170940),
    (62, 26, 22, 15, 9, 0.00078056, 0.00456276, 0.00971503, 0.00307692),
    (63, 22, 11, 8, 9, 0.00070250, 0.00410648, 0.00518135, 0.00307692),
    (64, 8, 7, 8, 5, 0.00063225, 0.00369584, 0.00518135, 0.00170940),
    (65, 7, 7, 10, 3, 0.00099742, 0.00583041, 0.00647668, 0.00102564),
    (66, 10, 8, 10, 4, 0.00084780, 0.00495585, 0.00647668, 0.00136752),
    (67, 4, 4, 10, 4, 0.00072063, 0.00421247, 0.00647668, 0.00136752),
    (68, 4, 2, 11, 7, 0.00061254, 0.00358060, 0.00712435, 0.00239316),
    (69, 1, 1, 2, 1, 0.00052066, 0.00304351, 0.00129534, 0.00034188),
    (70, 3, 3, 7, 6, 0.00044256, 0.00258698, 0.00453368, 0.00205128),
    (71, 5, 2, 3, 2, 0.00037618, 0.00219894, 0.00194301, 0.00068376),
    (72, 2, 1, 3, 1, 0.00031975, 0.00186910, 0.00194301, 0.00034188),
    (73, 2, 1, 3, 3, 0.00027179, 0.00158873, 0.00194301, 0.00102564),
    (74, 6, 5, 1, 0, 0.00023102, 0.00135042, 0.00064767, 0.00000000),
    (75, 0, 0, 0, 0, 0.00019637, 0.00114786, 0.00000000, 0.00000000),
    (76, 0, 0, 1, 2, 0.00016691, 0.00097568, 0.00064767, 0.00068376),
    (77, 0, 0, 0, 0, 0.00014187, 0.00082933, 0.00000000, 0.00000000),
    (78, 1, 1, 4, 0, 0.00007730, 0.00045188, 0.00259067, 0.00000000),
    (79, 0, 0, 1, 1, 0.00006571, 0.00038409, 0.00064767, 0.00034188),
    (80, 0, 0, 1, 0, 0.00005585, 0.00032648, 0.00064767, 0.00000000),
    (81, 0, 0, 0, 0, 0.00004747, 0.00027751, 0.00000000, 0.00000000),
    (82, 0, 0, 1, 0, 0.00004035, 0.00023588, 0.00064767, 0.00000000),
    (83, 0, 0, 0, 0, 0.00003430, 0.00020050, 0.00000000, 0.00000000),
    (84, 0, 0, 0, 0, 0.00002915, 0.00017042, 0.00000000, 0.00000000),
    (85, 0, 0, 0, 0, 0.00002478, 0.00014486, 0.00000000, 0.00000000),
    (86, 0, 0, 0, 0, 0.00002106, 0.00012313, 0.00000000, 0.00000000),
    (87, 0, 0, 0, 0, 0.00001790, 0.00010466, 0.00000000, 0.00000000),
    (88, 0, 0, 0, 0, 0.00001522, 0.00008896, 0.00000000, 0.00000000),
    (89, 0, 0, 0, 0, 0.00001294, 0.00007562, 0.00000000, 0.00000000),
    (90, 0, 0, 0, 0, 0.00001100, 0.00006428, 0.00000000, 0.00000000),
    (91, 0, 0, 0, 0, 0.00000935, 0.00005463, 0.00000000, 0.00000000),
    (92, 0, 0, 0, 0, 0.00000794, 0.00004644, 0.00000000, 0.00000000),
    (93, 0, 0, 0, 0, 0.00000675, 0.00003947, 0.00000000, 0.00000000),
    (94, 0, 0, 0, 0, 0.00000574, 0.00003355, 0.00000000, 0.00000000),
    (95, 0, 0, 0, 0, 0.00000488, 0.00002852, 0.00000000, 0.00000000),
    (96, 0, 0, 0, 0, 0.00000415, 0.00002424, 0.00000000, 0.00000000),
    (97, 0, 0, 0, 0, 0.00000352, 0.00002061, 0.00000000, 0.00000000),
    (98, 0, 0, 0, 0, 0.00000300, 0.00001751, 0.00000000, 0.00000000),
    (99, 0, 0, 0, 0, 0.00000255, 0.00001489, 0.00000000, 0.00000000),
    (100, 0, 0, 0, 0, 0.00000216, 0.00001265, 0.00000000, 0.00000000),
    (101, 0, 0, 0, 0, 0.00000184, 0.00001076, 0.00000000, 0.00000000),
    (102, 0, 0, 0, 0, 0.00000156, 0.00000914, 0.00000000, 0.00000000),
    (103, 0, 0, 0, 0, 0.00000133, 0.00000777, 0.00000000, 0.00000000),
    (104, 0, 0, 0, 0, 0.00001541, 0.00009008, 0.00000000, 0.00000000);

-- Specialty mix and stage mix by line of the RTT return.  rbd_* are RBD's
-- November 2024 totals per line (Total All, summed over commissioners).
-- weight (how often a referral is for the line) is RBD's Part_2 total.  RBD
-- is a district general hospital with no neurosurgery, plastic surgery,
-- cardiothoracic surgery or neurology waiting list, so those four lines get
-- placeholder weights (author's judgement, marked in note) to exercise them.
-- p_dta_open (share of waiting pathways that have a decision to admit) is
-- Part_2A / Part_2 and p_admitted_stop (share of clock stops that are
-- admissions) is Part_1A / (Part_1A + Part_1B), both smoothed towards RBD's
-- overall ratios (24.5% and 34.5%) with 20 pseudo-pathways; lines with almost
-- no RBD data carry author's values (note says which).
CREATE TABLE ptl_synth.rtt_line_mix (
    line            text PRIMARY KEY,
    rbd_part_2      int NOT NULL,
    rbd_part_2a     int NOT NULL,
    rbd_part_1a     int NOT NULL,
    rbd_part_1b     int NOT NULL,
    weight          float8 NOT NULL CHECK (weight >= 0),
    p_dta_open      float8 NOT NULL CHECK (p_dta_open BETWEEN 0 AND 1),
    p_admitted_stop float8 NOT NULL CHECK (p_admitted_stop BETWEEN 0 AND 1),
    note            text
);
COMMENT ON TABLE ptl_synth.rtt_line_mix IS
    'How referrals spread over the lines of the RTT return, and how often each line''s pathways are admitted (source: NHS England RTT statistics, RBD November 2024, OGL v3.0)';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.line IS 'Line of the RTT return (ptl.rtt_line)';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.rbd_part_2 IS 'RBD November 2024 incomplete pathways on the line';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.rbd_part_2a IS 'RBD November 2024 incomplete pathways with a decision to admit';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.rbd_part_1a IS 'RBD November 2024 completed admitted pathways';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.rbd_part_1b IS 'RBD November 2024 completed non-admitted pathways';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.weight IS 'Relative number of referrals generated for the line';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.p_dta_open IS 'Probability that a waiting pathway on the line has a decision to admit';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.p_admitted_stop IS 'Probability that a completed pathway on the line stopped by admission';
COMMENT ON COLUMN ptl_synth.rtt_line_mix.note IS 'Where the row''s values come from when not simply RBD';

INSERT INTO ptl_synth.rtt_line_mix VALUES
    ('100', 1089, 339, 81, 74, 1089, 0.3101, 0.5023, NULL),
    ('101', 947, 195, 109, 80, 947, 0.2067, 0.5546, NULL),
    ('110', 3439, 1765, 280, 129, 3439, 0.5117, 0.6688, NULL),
    ('120', 3298, 639, 115, 431, 3298, 0.1941, 0.2154, NULL),
    ('130', 2633, 454, 308, 463, 2633, 0.1730, 0.3981, NULL),
    ('140', 1856, 923, 85, 54, 1856, 0.4946, 0.5780, NULL),
    ('150', 0, 0, 0, 0, 150, 0.30, 0.40, 'not at RBD: weight and ratios are the author''s placeholders'),
    ('160', 0, 0, 0, 0, 300, 0.35, 0.50, 'not at RBD: weight and ratios are the author''s placeholders'),
    ('170', 0, 0, 0, 0, 100, 0.45, 0.60, 'not at RBD: weight and ratios are the author''s placeholders'),
    ('300', 11, 0, 0, 0, 11, 0.02, 0.05, 'ratios are the author''s (medical line, too few RBD pathways)'),
    ('301', 1005, 3, 67, 87, 1005, 0.0077, 0.4248, NULL),
    ('320', 957, 34, 21, 284, 957, 0.0398, 0.0859, NULL),
    ('330', 1518, 422, 200, 239, 1518, 0.2776, 0.4508, NULL),
    ('340', 596, 1, 5, 86, 596, 0.0096, 0.1073, NULL),
    ('400', 0, 0, 0, 0, 450, 0.01, 0.02, 'not at RBD: weight and ratios are the author''s placeholders'),
    ('410', 8, 0, 0, 0, 8, 0.02, 0.05, 'ratios are the author''s (medical line, too few RBD pathways)'),
    ('430', 78, 0, 0, 15, 78, 0.0500, 0.03, 'admitted ratio is the author''s (no RBD admissions)'),
    ('502', 1635, 335, 132, 269, 1635, 0.2054, 0.3300, NULL),
    ('X02', 1313, 2, 1, 323, 1313, 0.0052, 0.0230, NULL),
    ('X03', 0, 0, 0, 0, 0, 0, 0, 'mental health: not generated'),
    ('X04', 243, 43, 7, 26, 243, 0.1821, 0.2624, NULL),
    ('X05', 1072, 167, 133, 364, 1072, 0.1574, 0.2706, NULL),
    ('X06', 4, 0, 0, 1, 4, 0, 0, 'audiology only (not consultant-led: validation should flag it)');

-- Treatment functions inside each line.  The split of a line between its
-- functions is the author's judgement (RBD publishes lines, not functions).
CREATE TABLE ptl_synth.tfc_mix (
    tfc             text PRIMARY KEY,
    line            text NOT NULL REFERENCES ptl_synth.rtt_line_mix (line),
    share           float8 NOT NULL CHECK (share BETWEEN 0 AND 1),
    paediatric      boolean NOT NULL DEFAULT false,
    specialised     boolean NOT NULL DEFAULT false,
    cancer_prone    boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE ptl_synth.tfc_mix IS
    'Treatment functions the generator uses and their share of their RTT line (author''s judgement)';
COMMENT ON COLUMN ptl_synth.tfc_mix.tfc IS 'Treatment function code (shipped in ptl.treatment_function)';
COMMENT ON COLUMN ptl_synth.tfc_mix.line IS 'RTT line it is reported on';
COMMENT ON COLUMN ptl_synth.tfc_mix.share IS 'Share of the line''s referrals';
COMMENT ON COLUMN ptl_synth.tfc_mix.paediatric IS 'True for children''s services: only children are referred to them';
COMMENT ON COLUMN ptl_synth.tfc_mix.specialised IS 'True when NHS England commissions it (the pathway''s commissioner is then the specialised commissioner)';
COMMENT ON COLUMN ptl_synth.tfc_mix.cancer_prone IS 'True for services that receive a noticeable share of two-week-wait (suspected cancer) referrals';

INSERT INTO ptl_synth.tfc_mix (tfc, line, share, paediatric, specialised, cancer_prone) VALUES
    ('100', '100', 1.00, false, false, true),
    ('101', '101', 1.00, false, false, true),
    ('110', '110', 0.85, false, false, false),
    ('108', '110', 0.10, false, false, false),
    ('111', '110', 0.05, false, false, false),
    ('120', '120', 1.00, false, false, true),
    ('130', '130', 1.00, false, false, false),
    ('140', '140', 0.60, false, false, false),
    ('145', '140', 0.30, false, false, false),
    ('144', '140', 0.10, false, false, false),
    ('150', '150', 1.00, false, true, false),
    ('160', '160', 1.00, false, false, false),
    ('170', '170', 0.20, false, true, false),
    ('172', '170', 0.50, false, true, false),
    ('173', '170', 0.30, false, true, false),
    ('300', '300', 1.00, false, false, false),
    ('301', '301', 1.00, false, false, true),
    ('320', '320', 1.00, false, false, false),
    ('330', '330', 1.00, false, false, true),
    ('340', '340', 1.00, false, false, true),
    ('400', '400', 1.00, false, false, false),
    ('410', '410', 1.00, false, false, false),
    ('430', '430', 1.00, false, false, false),
    ('502', '502', 1.00, false, false, true),
    ('302', 'X02', 0.15, false, false, false),
    ('303', 'X02', 0.12, false, false, false),
    ('361', 'X02', 0.10, false, true, false),
    ('307', 'X02', 0.10, false, false, false),
    ('306', 'X02', 0.08, false, false, false),
    ('460', 'X02', 0.10, false, false, false),
    ('317', 'X02', 0.06, false, false, false),
    ('328', 'X02', 0.05, false, false, false),
    ('314', 'X02', 0.04, false, false, false),
    ('401', 'X02', 0.08, false, false, false),
    ('350', 'X02', 0.04, false, false, false),
    ('347', 'X02', 0.04, false, false, false),
    ('311', 'X02', 0.04, false, false, false),
    ('420', 'X04', 0.55, true, false, false),
    ('171', 'X04', 0.25, true, false, false),
    ('142', 'X04', 0.10, true, false, false),
    ('321', 'X04', 0.05, true, true, false),
    ('421', 'X04', 0.05, true, false, false),
    ('103', 'X05', 0.22, false, false, true),
    ('104', 'X05', 0.22, false, false, true),
    ('107', 'X05', 0.14, false, false, false),
    ('106', 'X05', 0.10, false, false, true),
    ('191', 'X05', 0.12, false, false, false),
    ('105', 'X05', 0.05, false, false, false),
    ('503', 'X05', 0.05, false, false, true),
    ('143', 'X05', 0.05, false, false, false),
    ('113', 'X05', 0.03, false, false, false),
    ('141', 'X05', 0.02, false, false, false),
    ('840', 'X06', 1.00, false, false, false);

-- Intended procedures of admitted waiting-list entries, by line.
-- Illustrative OPCS-4 codes (the common elective operations of each
-- specialty, from the author's knowledge; ".8" is OPCS-4's "other
-- specified"); check against the OPCS-4 classification before relying on a
-- description.  Minutes are typical theatre times (author's judgement).
-- Lines without rows get entries with no intended procedure, which is
-- itself a data-quality finding the validation rules look for.
CREATE TABLE ptl_synth.procedure_mix (
    line                text NOT NULL REFERENCES ptl_synth.rtt_line_mix (line),
    opcs                text NOT NULL CHECK (opcs ~ '^[A-Z][0-9]{2}\.[0-9]$'),
    description         text NOT NULL,
    intended_management text NOT NULL CHECK (intended_management IN ('1', '2')),
    minutes             int NOT NULL CHECK (minutes BETWEEN 5 AND 600),
    weight              float8 NOT NULL CHECK (weight > 0),
    PRIMARY KEY (line, opcs)
);
COMMENT ON TABLE ptl_synth.procedure_mix IS
    'Intended procedures (OPCS-4) the generator puts on admitted waiting-list entries, by RTT line (illustrative, author''s judgement)';
COMMENT ON COLUMN ptl_synth.procedure_mix.line IS 'RTT line of the pathway';
COMMENT ON COLUMN ptl_synth.procedure_mix.opcs IS 'OPCS-4 code';
COMMENT ON COLUMN ptl_synth.procedure_mix.description IS 'Procedure in words';
COMMENT ON COLUMN ptl_synth.procedure_mix.intended_management IS 'Usual intended management: 1 inpatient, 2 day case';
COMMENT ON COLUMN ptl_synth.procedure_mix.minutes IS 'Typical expected theatre time in minutes';
COMMENT ON COLUMN ptl_synth.procedure_mix.weight IS 'Relative frequency within the line';

INSERT INTO ptl_synth.procedure_mix VALUES
    ('100', 'T20.2', 'Primary repair of inguinal hernia using insert of natural or artificial material', '2', 75, 0.45),
    ('100', 'J18.3', 'Total cholecystectomy NEC', '2', 90, 0.35),
    ('100', 'H51.1', 'Haemorrhoidectomy', '2', 45, 0.20),
    ('101', 'M65.3', 'Endoscopic resection of prostate NEC', '1', 75, 0.35),
    ('101', 'M42.1', 'Endoscopic resection of lesion of bladder', '2', 45, 0.40),
    ('101', 'N30.3', 'Circumcision', '2', 30, 0.25),
    ('110', 'W37.1', 'Primary total prosthetic replacement of hip joint using cement', '1', 120, 0.18),
    ('110', 'W40.1', 'Primary total prosthetic replacement of knee joint using cement', '1', 120, 0.22),
    ('110', 'W82.3', 'Endoscopic resection of semilunar cartilage NEC', '2', 50, 0.15),
    ('110', 'A65.1', 'Carpal tunnel release', '2', 30, 0.25),
    ('110', 'T52.1', 'Palmar fasciectomy', '2', 60, 0.10),
    ('110', 'W15.1', 'Osteotomy of neck of first metatarsal bone', '2', 60, 0.10),
    ('120', 'F34.1', 'Bilateral dissection tonsillectomy', '2', 45, 0.35),
    ('120', 'E20.1', 'Total adenoidectomy', '2', 30, 0.15),
    ('120', 'D15.1', 'Myringotomy with insertion of ventilation tube through tympanic membrane', '2', 25, 0.20),
    ('120', 'E03.6', 'Septoplasty of nose NEC', '2', 60, 0.30),
    ('130', 'C71.2', 'Phacoemulsification of lens', '2', 25, 0.85),
    ('130', 'C60.1', 'Trabeculectomy', '2', 60, 0.15),
    ('140', 'F09.1', 'Surgical removal of impacted wisdom tooth', '2', 40, 0.70),
    ('140', 'F10.4', 'Extraction of multiple teeth NEC', '2', 30, 0.30),
    ('150', 'V25.8', 'Other specified primary decompression operations on lumbar spine', '1', 150, 1.00),
    ('160', 'S06.8', 'Other specified other excision of lesion of skin', '2', 45, 0.60),
    ('160', 'T52.1', 'Palmar fasciectomy', '2', 60, 0.40),
    ('170', 'K40.1', 'Saphenous vein graft replacement of one coronary artery', '1', 240, 0.60),
    ('170', 'E54.3', 'Lobectomy of lung', '1', 180, 0.40),
    ('301', 'H20.1', 'Fibreoptic endoscopic snare resection of lesion of colon', '2', 45, 1.00),
    ('320', 'K75.1', 'Percutaneous transluminal balloon angioplasty and insertion of 1-2 drug-eluting stents into coronary artery', '2', 90, 0.60),
    ('320', 'K60.8', 'Other specified cardiac pacemaker system introduced through vein', '2', 60, 0.40),
    ('330', 'S06.8', 'Other specified other excision of lesion of skin', '2', 30, 0.70),
    ('330', 'S05.8', 'Other specified microscopically controlled excision of lesion of skin', '2', 90, 0.30),
    ('502', 'Q07.4', 'Total abdominal hysterectomy NEC', '1', 120, 0.40),
    ('502', 'Q17.8', 'Other specified therapeutic endoscopic operations on uterus', '2', 40, 0.60),
    ('X04', 'F34.1', 'Bilateral dissection tonsillectomy', '2', 45, 0.30),
    ('X04', 'D15.1', 'Myringotomy with insertion of ventilation tube through tympanic membrane', '2', 25, 0.20),
    ('X04', 'N30.3', 'Circumcision', '2', 30, 0.30),
    ('X04', 'F10.4', 'Extraction of multiple teeth NEC', '2', 30, 0.20),
    ('X05', 'T20.2', 'Primary repair of inguinal hernia using insert of natural or artificial material', '2', 75, 0.20),
    ('X05', 'B28.8', 'Other specified other excision of breast', '2', 60, 0.25),
    ('X05', 'L85.1', 'Ligation of long saphenous vein', '2', 60, 0.20),
    ('X05', 'H33.8', 'Other specified excision of rectum', '1', 180, 0.15),
    ('X05', 'A52.8', 'Other specified therapeutic epidural injection', '2', 30, 0.20);

-- Age of the people referred, by decade of age at the census.  Author's
-- approximation of the shape of elective referrals (rising to a peak at 60 to
-- 79, children a small share); not taken from a file.  Ages start at 4 so
-- that no synthetic referral predates a birth.
CREATE TABLE ptl_synth.age_mix (
    decade  int PRIMARY KEY CHECK (decade BETWEEN 0 AND 9),
    weight  float8 NOT NULL CHECK (weight >= 0)
);
COMMENT ON TABLE ptl_synth.age_mix IS
    'Age distribution of synthetic patients by decade (author''s approximation of elective referrals; ages 4 to 99)';
COMMENT ON COLUMN ptl_synth.age_mix.decade IS 'Decade of age: 0 = 4-9 years, 1 = 10-19 ... 9 = 90-99';
COMMENT ON COLUMN ptl_synth.age_mix.weight IS 'Relative number of patients in the decade';
INSERT INTO ptl_synth.age_mix VALUES
    (0, 5), (1, 5), (2, 7), (3, 10), (4, 11), (5, 15), (6, 17), (7, 17), (8, 11), (9, 2);

-- Ethnic category codes (NHS Data Dictionary ETHNIC CATEGORY).  The stated
-- categories follow the rounded shares of the 2021 Census of England and
-- Wales (author's rounding, from memory), scaled to 90%; the rest is "not
-- stated" (Z, 5%), "not known" (99, 3%) and missing (NULL, 2%), as hospital
-- systems record them.
CREATE TABLE ptl_synth.ethnic_mix (
    ord     int PRIMARY KEY,
    code    text CHECK (code ~ '^([A-HJ-NPR-SZ]|99)$'),
    weight  float8 NOT NULL CHECK (weight >= 0)
);
COMMENT ON TABLE ptl_synth.ethnic_mix IS
    'Ethnic category mix of synthetic patients (2021 Census shape, rounded; plus not stated, not known and missing)';
COMMENT ON COLUMN ptl_synth.ethnic_mix.ord IS 'Order of the code';
COMMENT ON COLUMN ptl_synth.ethnic_mix.code IS 'ETHNIC CATEGORY code, or NULL for a missing value';
COMMENT ON COLUMN ptl_synth.ethnic_mix.weight IS 'Relative frequency';
INSERT INTO ptl_synth.ethnic_mix VALUES
    (1, 'A', 66.96), (2, 'B', 0.81), (3, 'C', 5.58), (4, 'D', 0.81), (5, 'E', 0.36),
    (6, 'F', 0.72), (7, 'G', 0.72), (8, 'H', 2.79), (9, 'J', 2.43), (10, 'K', 0.99),
    (11, 'L', 1.44), (12, 'M', 0.99), (13, 'N', 2.25), (14, 'P', 0.45), (15, 'R', 0.63),
    (16, 'S', 1.44), (17, 'Z', 5.00), (18, '99', 3.00), (19, NULL, 2.00);

-- Invented names, streets and places.  Common given and family names of
-- England, plus a few nicknames for linkage typos; places are made up.
CREATE TABLE ptl_synth.name_part (
    kind        text NOT NULL CHECK (kind IN ('given_male', 'given_female', 'family', 'street', 'street_suffix', 'place')),
    ord         int NOT NULL,
    value       text NOT NULL,
    nickname    text,
    PRIMARY KEY (kind, ord)
);
COMMENT ON TABLE ptl_synth.name_part IS
    'Word lists the generator builds names, addresses and organisation names from (invented or common words, no real persons)';
COMMENT ON COLUMN ptl_synth.name_part.kind IS 'given_male, given_female, family, street, street_suffix or place';
COMMENT ON COLUMN ptl_synth.name_part.ord IS 'Position in the list (the generator indexes the list by it)';
COMMENT ON COLUMN ptl_synth.name_part.value IS 'The word';
COMMENT ON COLUMN ptl_synth.name_part.nickname IS 'Short form some systems record instead of a given name';

INSERT INTO ptl_synth.name_part (kind, ord, value, nickname)
SELECT 'given_male', o, v[1], v[2]
FROM unnest(ARRAY[
    'James:Jim', 'John:Jack', 'Robert:Bob', 'Michael:Mike', 'William:Bill', 'David:Dave',
    'Richard:Rick', 'Joseph:Joe', 'Thomas:Tom', 'Christopher:Chris', 'Daniel:Dan', 'Matthew:Matt',
    'Anthony:Tony', 'Mark:', 'Steven:Steve', 'Paul:', 'Andrew:Andy', 'Joshua:Josh', 'Kenneth:Ken',
    'Kevin:', 'Brian:', 'George:', 'Timothy:Tim', 'Edward:Ted', 'Peter:Pete', 'Samuel:Sam',
    'Benjamin:Ben', 'Nicholas:Nick', 'Jonathan:Jon', 'Oliver:Ollie', 'Harry:', 'Charles:Charlie',
    'Alexander:Alex', 'Gareth:', 'Graham:', 'Ian:', 'Keith:', 'Raymond:Ray', 'Leonard:Len',
    'Arthur:', 'Frederick:Fred', 'Ronald:Ron', 'Stanley:Stan', 'Mohammed:', 'Arjun:', 'Tomasz:Tomek',
    'Kwame:', 'Wei:']) WITH ORDINALITY AS t (s, o)
CROSS JOIN LATERAL (SELECT ARRAY[split_part(t.s, ':', 1), nullif(split_part(t.s, ':', 2), '')] AS v) x;

INSERT INTO ptl_synth.name_part (kind, ord, value, nickname)
SELECT 'given_female', o, v[1], v[2]
FROM unnest(ARRAY[
    'Mary:', 'Patricia:Pat', 'Jennifer:Jenny', 'Linda:', 'Elizabeth:Liz', 'Barbara:Babs',
    'Susan:Sue', 'Jessica:Jess', 'Sarah:', 'Karen:', 'Margaret:Maggie', 'Sandra:Sandy',
    'Deborah:Debbie', 'Rebecca:Becky', 'Victoria:Vicky', 'Catherine:Kate', 'Christine:Chris',
    'Samantha:Sam', 'Jacqueline:Jackie', 'Kimberley:Kim', 'Amanda:Mandy', 'Helen:', 'Emma:',
    'Olivia:Liv', 'Amelia:Millie', 'Isabella:Bella', 'Charlotte:Lottie', 'Sophie:', 'Hannah:',
    'Lucy:', 'Joan:', 'Dorothy:Dot', 'Eileen:', 'Doreen:', 'Alexandra:Alex', 'Gillian:Gill',
    'Josephine:Jo', 'Fatima:', 'Priya:', 'Aisha:', 'Agnieszka:Aga', 'Grace:', 'Ruby:',
    'Abigail:Abby', 'Megan:Meg', 'Bethany:Beth']) WITH ORDINALITY AS t (s, o)
CROSS JOIN LATERAL (SELECT ARRAY[split_part(t.s, ':', 1), nullif(split_part(t.s, ':', 2), '')] AS v) x;

INSERT INTO ptl_synth.name_part (kind, ord, value)
SELECT 'family', o, s
FROM unnest(ARRAY[
    'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson',
    'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood',
    'Jackson', 'Clarke', 'Patel', 'Khan', 'Lewis', 'James', 'Phillips', 'Mason', 'Mitchell',
    'Rose', 'Davis', 'Hughes', 'Edwards', 'Turner', 'Hill', 'Moore', 'Cooper', 'Ward', 'Morris',
    'King', 'Watson', 'Harris', 'Baker', 'Harrison', 'Morgan', 'Allen', 'Young', 'Scott',
    'Kelly', 'Martin', 'Anderson', 'Bennett', 'Carter', 'Shaw', 'Lloyd', 'Parker', 'Price',
    'Bell', 'Murphy', 'Bailey', 'Cox', 'Richardson', 'Marshall', 'Collins', 'Ahmed', 'Hussain',
    'Begum', 'Singh', 'Ali', 'Kaur', 'Nowak', 'Kowalski', 'Okafor', 'Mensah', 'Chen', 'Wong',
    'O''Brien', 'Fitzgerald', 'Pemberton', 'Ashworth', 'Greenhalgh', 'Sutcliffe', 'Whitehead',
    'Butterworth', 'Ramsbottom', 'Dunn']) WITH ORDINALITY AS t (s, o);

INSERT INTO ptl_synth.name_part (kind, ord, value)
SELECT 'street', o, s
FROM unnest(ARRAY[
    'Mill', 'Church', 'Station', 'Victoria', 'Park', 'Green', 'Manor', 'Kings', 'Queens', 'High',
    'Grange', 'Oak', 'Elm', 'Ash', 'Willow', 'Beech', 'Chestnut', 'Meadow', 'Orchard', 'Farm',
    'School', 'Chapel', 'North', 'South', 'West', 'East', 'Moor', 'Brook', 'River', 'Bridge',
    'Castle', 'Abbey', 'Priory', 'Windmill', 'Springfield', 'Highfield', 'Westfield', 'Fairview',
    'Hillside', 'Valley']) WITH ORDINALITY AS t (s, o);

INSERT INTO ptl_synth.name_part (kind, ord, value)
SELECT 'street_suffix', o, s
FROM unnest(ARRAY['Road', 'Street', 'Lane', 'Avenue', 'Close', 'Drive', 'Way', 'Crescent',
                  'Gardens', 'Terrace']) WITH ORDINALITY AS t (s, o);

INSERT INTO ptl_synth.name_part (kind, ord, value)
SELECT 'place', o, s
FROM unnest(ARRAY[
    'Northvale', 'Eastmere', 'Southholm', 'Westbridge', 'Ashcombe', 'Brackenford', 'Calderwick',
    'Dunmoor', 'Elmstead', 'Fernleigh', 'Greyhaven', 'Hollinsby', 'Kestrelford', 'Larkholme',
    'Marshwick', 'Netherfold', 'Oakhurst', 'Pennydale', 'Quarrybank', 'Ravensmere', 'Stonebeck',
    'Thornwick', 'Underhill', 'Valecross', 'Whitmoor', 'Yarrowby', 'Ambledown', 'Birchmere',
    'Copperfold', 'Dovecote']) WITH ORDINALITY AS t (s, o);

-- ---------------------------------------------------------------------------
-- The truth behind the extracts.  One generate() call describes one
-- synthetic ICS: each call empties these tables and fills them again.  The
-- large ones are UNLOGGED (a crash empties them; generate() again with the
-- same arguments rebuilds them exactly) and carry only their primary keys,
-- so that a million referrals stay quick to generate.  Relationships:
-- patient_record.person_id and pathway_truth.person_id -> person;
-- pathway_truth (org_code, ...) -> the staged pathway rows; person NHS
-- numbers are unique by construction.
-- ---------------------------------------------------------------------------

CREATE TABLE ptl_synth.run (
    run_key             boolean PRIMARY KEY DEFAULT true CHECK (run_key),
    referrals           bigint NOT NULL,
    seed_value          int NOT NULL,
    census_date         date NOT NULL,
    trust_count         int NOT NULL,
    sites_per_trust     int NOT NULL,
    effective_rates     jsonb NOT NULL,
    persons             bigint NOT NULL,
    batch_ids           bigint[] NOT NULL,
    generated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ptl_synth.run IS
    'The arguments of the last generate() call (one row): what the truth tables describe';
COMMENT ON COLUMN ptl_synth.run.run_key IS 'Always true: the table holds one row';
COMMENT ON COLUMN ptl_synth.run.referrals IS 'Number of referrals (true pathways) generated';
COMMENT ON COLUMN ptl_synth.run.seed_value IS 'Seed of the generator';
COMMENT ON COLUMN ptl_synth.run.census_date IS 'Census date: no event is dated after it';
COMMENT ON COLUMN ptl_synth.run.trust_count IS 'Number of NHS trusts in the synthetic ICS';
COMMENT ON COLUMN ptl_synth.run.sites_per_trust IS 'Sites (and source systems) per trust';
COMMENT ON COLUMN ptl_synth.run.effective_rates IS 'Fault rates used: the defaults overridden by the fault_rates argument';
COMMENT ON COLUMN ptl_synth.run.persons IS 'Number of distinct synthetic persons';
COMMENT ON COLUMN ptl_synth.run.batch_ids IS 'Load batches opened, in site order';
COMMENT ON COLUMN ptl_synth.run.generated_at IS 'When the call ran';

CREATE UNLOGGED TABLE ptl_synth.person (
    person_id           bigint PRIMARY KEY,
    nhs_number          text NOT NULL,
    given_name          text NOT NULL,
    family_name         text NOT NULL,
    date_of_birth       date NOT NULL,
    date_of_death       date,
    sex                 text NOT NULL,
    postcode            text NOT NULL,
    address_line_1      text NOT NULL,
    ethnic_category     text,
    lsoa_code           text,
    gp_practice_code    text,
    commissioner_code   text NOT NULL,
    home_site_code      text NOT NULL,
    town                text,
    telephone           text,
    email               text
);
COMMENT ON TABLE ptl_synth.person IS
    'The true synthetic person behind patient records (one person may have records at several sites)';
COMMENT ON COLUMN ptl_synth.person.person_id IS 'Person number (1..persons)';
COMMENT ON COLUMN ptl_synth.person.nhs_number IS 'True NHS number, 10 digits without spaces (valid Modulus 11, starting with 9: never a real patient''s)';
COMMENT ON COLUMN ptl_synth.person.given_name IS 'True given name';
COMMENT ON COLUMN ptl_synth.person.family_name IS 'True family name';
COMMENT ON COLUMN ptl_synth.person.date_of_birth IS 'True date of birth';
COMMENT ON COLUMN ptl_synth.person.date_of_death IS 'Date of death, for persons whose pathway ends in death';
COMMENT ON COLUMN ptl_synth.person.sex IS 'PERSON STATED GENDER CODE: 1, 2, 9 or X';
COMMENT ON COLUMN ptl_synth.person.postcode IS 'Synthetic postcode (outward codes Q?n do not exist in the UK)';
COMMENT ON COLUMN ptl_synth.person.address_line_1 IS 'House number and street';
COMMENT ON COLUMN ptl_synth.person.ethnic_category IS 'ETHNIC CATEGORY code, or NULL when not recorded';
COMMENT ON COLUMN ptl_synth.person.lsoa_code IS 'Synthetic LSOA of residence (in ptl.area_deprivation); NULL for residents outside England';
COMMENT ON COLUMN ptl_synth.person.gp_practice_code IS 'Synthetic GP practice code; NULL when not registered';
COMMENT ON COLUMN ptl_synth.person.commissioner_code IS 'Responsible commissioner (Sub-ICB of the practice, or NONC)';
COMMENT ON COLUMN ptl_synth.person.home_site_code IS 'The site nearest home, where most of the person''s referrals go';
COMMENT ON COLUMN ptl_synth.person.town IS 'Town of the usual address, one per postcode district (link_world() only; NULL elsewhere)';
COMMENT ON COLUMN ptl_synth.person.telephone IS 'Mobile number in Ofcom''s drama range 07700 900000-900999 and beyond (link_world() only)';
COMMENT ON COLUMN ptl_synth.person.email IS 'Email address at a reserved example domain (link_world() only)';

CREATE UNLOGGED TABLE ptl_synth.patient_record (
    org_code            text NOT NULL,
    source_system       text NOT NULL,
    local_patient_id    text NOT NULL,
    person_id           bigint NOT NULL,
    site_code           text NOT NULL,
    batch_id            bigint NOT NULL,
    nhs_number_sent     text,
    typo_duplicate      boolean NOT NULL,
    PRIMARY KEY (org_code, source_system, local_patient_id)
);
COMMENT ON TABLE ptl_synth.patient_record IS
    'Which person each staged patient record is: the answer key for patient linkage';
COMMENT ON COLUMN ptl_synth.patient_record.org_code IS 'Organisation whose system holds the record';
COMMENT ON COLUMN ptl_synth.patient_record.source_system IS 'System that holds the record (one per site, e.g. PAS-RZ101)';
COMMENT ON COLUMN ptl_synth.patient_record.local_patient_id IS 'The system''s hospital number';
COMMENT ON COLUMN ptl_synth.patient_record.person_id IS 'The true person (ptl_synth.person)';
COMMENT ON COLUMN ptl_synth.patient_record.site_code IS 'Site whose batch carries the record';
COMMENT ON COLUMN ptl_synth.patient_record.batch_id IS 'Batch the record was staged in';
COMMENT ON COLUMN ptl_synth.patient_record.nhs_number_sent IS 'NHS number exactly as staged (may be empty or invalid on purpose)';
COMMENT ON COLUMN ptl_synth.patient_record.typo_duplicate IS 'True for a second record of a person made with typing slips (a cross_site_duplicate_patient fault)';

CREATE UNLOGGED TABLE ptl_synth.pathway_truth (
    org_code                text NOT NULL,
    ppid_issuer             text NOT NULL,
    ppid                    text NOT NULL,
    true_pathway_id         bigint NOT NULL,
    record_role             text NOT NULL CHECK (record_role IN ('original', 'transfer_in', 'duplicate')),
    scenario                text NOT NULL,
    site_code               text NOT NULL,
    batch_id                bigint NOT NULL,
    local_patient_id        text NOT NULL,
    person_id               bigint NOT NULL,
    treatment_function      text NOT NULL,
    referral_priority       text NOT NULL,
    referral_received       date NOT NULL,
    duplicate_of            text,
    transferred_from        text,
    expected_clock_start    date,
    expected_clock_stop     date,
    expected_stop_status    text,
    expected_outcome        text NOT NULL CHECK (expected_outcome IN
                                ('waiting', 'stopped_admitted', 'stopped_non_admitted', 'nullified',
                                 'transferred_out', 'duplicate')),
    expected_dta            boolean NOT NULL,
    expected_days           int,
    faulted                 boolean NOT NULL DEFAULT false,
    PRIMARY KEY (org_code, ppid_issuer, ppid)
);
COMMENT ON TABLE ptl_synth.pathway_truth IS
    'The answer key for pathways: one row per staged pathway record, with the clock the RTT rules give at the census';
COMMENT ON COLUMN ptl_synth.pathway_truth.org_code IS 'Provider whose batch carries the record';
COMMENT ON COLUMN ptl_synth.pathway_truth.ppid_issuer IS 'PPID issuer as staged (a trust code, or X09 for UBRN-based PPIDs)';
COMMENT ON COLUMN ptl_synth.pathway_truth.ppid IS 'PPID as staged';
COMMENT ON COLUMN ptl_synth.pathway_truth.true_pathway_id IS 'The real pathway (referral) number: records of one transferred or duplicated pathway share it';
COMMENT ON COLUMN ptl_synth.pathway_truth.record_role IS 'original (the referral''s own record), transfer_in (the receiving provider''s record) or duplicate (a second record of the same referral)';
COMMENT ON COLUMN ptl_synth.pathway_truth.scenario IS 'The story the generator told: open_wait, open_dta, stop_admitted, stop_treated, stop_discharged, stop_active_monitoring, stop_declined, stop_died, nullified, dna_rebooked, am_restarted, transferred or duplicate';
COMMENT ON COLUMN ptl_synth.pathway_truth.site_code IS 'Site whose batch carries the record';
COMMENT ON COLUMN ptl_synth.pathway_truth.batch_id IS 'Batch the record was staged in';
COMMENT ON COLUMN ptl_synth.pathway_truth.local_patient_id IS 'Patient record it is staged against';
COMMENT ON COLUMN ptl_synth.pathway_truth.person_id IS 'The true person';
COMMENT ON COLUMN ptl_synth.pathway_truth.treatment_function IS 'Treatment function (true value, even if the staged one was corrupted)';
COMMENT ON COLUMN ptl_synth.pathway_truth.referral_priority IS 'Referral priority code: 1 routine, 2 urgent, 3 two week wait';
COMMENT ON COLUMN ptl_synth.pathway_truth.referral_received IS 'True date the provider received the referral';
COMMENT ON COLUMN ptl_synth.pathway_truth.duplicate_of IS 'For a duplicate record: the PPID of the record it duplicates (same provider)';
COMMENT ON COLUMN ptl_synth.pathway_truth.transferred_from IS 'For a transfer_in record: the provider that transferred the pathway';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_clock_start IS 'Start of the RTT period current at the census (the last period), by the rules';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_clock_stop IS 'Stop date of that period, when it stopped on or before the census';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_stop_status IS 'Status that stopped it (30, 32, 33, 34, 35, 36)';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_outcome IS 'waiting (incomplete at the census), stopped_admitted, stopped_non_admitted, nullified, transferred_out (reported by the receiving provider) or duplicate (should be merged, not reported)';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_dta IS 'True when a waiting pathway has a decision to admit (Part 2A)';
COMMENT ON COLUMN ptl_synth.pathway_truth.expected_days IS 'Days waited: census minus start for waiting pathways, stop minus start for stopped ones';
COMMENT ON COLUMN ptl_synth.pathway_truth.faulted IS 'True when an injected fault quarantines the pathway row or its patient row under ptl''s loading policy, so the expected clock cannot be derived from the loaded data';

CREATE UNLOGGED TABLE ptl_synth.injected_fault (
    fault_id            bigint PRIMARY KEY,
    fault_kind          text NOT NULL CHECK (fault_kind IN
                            ('invalid_nhs_number', 'missing_nhs_number', 'cross_site_duplicate_patient',
                             'duplicate_pathway', 'malformed_date', 'malformed_code')),
    extract             text NOT NULL CHECK (extract IN ('patient', 'pathway', 'pathway_event', 'waiting_list_entry')),
    batch_id            bigint NOT NULL,
    site_code           text NOT NULL,
    local_patient_id    text,
    ppid_issuer         text,
    ppid                text,
    event_ref           text,
    entry_ref           text,
    column_name         text,
    bad_value           text,
    true_value          text,
    expected_reason     text,
    person_id           bigint,
    true_pathway_id     bigint,
    detail              jsonb
);
CREATE INDEX injected_fault_kind_idx ON ptl_synth.injected_fault (fault_kind, extract);
COMMENT ON TABLE ptl_synth.injected_fault IS
    'Every fault generate() put into the staging rows on purpose, with the row''s natural key and what the loader should say';
COMMENT ON COLUMN ptl_synth.injected_fault.fault_id IS 'Fault number (in a deterministic order)';
COMMENT ON COLUMN ptl_synth.injected_fault.fault_kind IS 'invalid_nhs_number, missing_nhs_number, cross_site_duplicate_patient, duplicate_pathway, malformed_date or malformed_code';
COMMENT ON COLUMN ptl_synth.injected_fault.extract IS 'Staging extract of the faulty row';
COMMENT ON COLUMN ptl_synth.injected_fault.batch_id IS 'Batch of the faulty row';
COMMENT ON COLUMN ptl_synth.injected_fault.site_code IS 'Site of the batch';
COMMENT ON COLUMN ptl_synth.injected_fault.local_patient_id IS 'Key of a patient row (and the patient of a pathway row)';
COMMENT ON COLUMN ptl_synth.injected_fault.ppid_issuer IS 'Pathway key, part 1 (pathway, event and waiting-list rows)';
COMMENT ON COLUMN ptl_synth.injected_fault.ppid IS 'Pathway key, part 2';
COMMENT ON COLUMN ptl_synth.injected_fault.event_ref IS 'Key of an event row within its pathway';
COMMENT ON COLUMN ptl_synth.injected_fault.entry_ref IS 'Key of a waiting-list row within its pathway';
COMMENT ON COLUMN ptl_synth.injected_fault.column_name IS 'Column(s) made wrong (comma-separated for a duplicate record with several slips; NULL for a duplicate pathway)';
COMMENT ON COLUMN ptl_synth.injected_fault.bad_value IS 'The value staged (for several columns, the values in the same order, separated by " | ")';
COMMENT ON COLUMN ptl_synth.injected_fault.true_value IS 'What the value should have been';
COMMENT ON COLUMN ptl_synth.injected_fault.expected_reason IS 'Reason ptl.load() should give: a ptl.rejected_row reason (invalid_date, missing_required, invalid_code) or a ptl.load_warning reason (invalid_nhs_number); NULL when the row loads cleanly and only validation or linkage can find the fault';
COMMENT ON COLUMN ptl_synth.injected_fault.person_id IS 'The true person concerned';
COMMENT ON COLUMN ptl_synth.injected_fault.true_pathway_id IS 'The true pathway concerned, if any';
COMMENT ON COLUMN ptl_synth.injected_fault.detail IS 'More about the fault (e.g. the PPID a duplicate pathway copies, the kinds of typing slip, rows quarantined with it)';

CREATE VIEW ptl_synth.fault_summary AS
SELECT f.fault_kind, f.extract, count(*) AS count
FROM ptl_synth.injected_fault f
GROUP BY f.fault_kind, f.extract;
COMMENT ON VIEW ptl_synth.fault_summary IS 'Number of injected faults by kind and extract, for the last generate() call';
COMMENT ON COLUMN ptl_synth.fault_summary.fault_kind IS 'Kind of fault';
COMMENT ON COLUMN ptl_synth.fault_summary.extract IS 'Extract the faulty rows are in';
COMMENT ON COLUMN ptl_synth.fault_summary.count IS 'Number of faults';

-- Reference rows generate() added to ptl's tables (not the ones that were
-- already there), so that purge() removes exactly those.  Kept across calls.
CREATE TABLE ptl_synth.created_reference (
    table_name  text NOT NULL CHECK (table_name IN ('organisation', 'site', 'commissioner', 'area_deprivation')),
    key_value   text NOT NULL,
    PRIMARY KEY (table_name, key_value)
);
COMMENT ON TABLE ptl_synth.created_reference IS
    'Reference rows generate() inserted into ptl''s tables (kept across calls, for purge())';
COMMENT ON COLUMN ptl_synth.created_reference.table_name IS 'ptl table: organisation, site, commissioner or area_deprivation';
COMMENT ON COLUMN ptl_synth.created_reference.key_value IS 'Primary key of the row inserted';

-- Every batch generate() opened (kept across calls, for purge()).
CREATE TABLE ptl_synth.generated_batch (
    batch_id    bigint PRIMARY KEY,
    site_code   text NOT NULL,
    seed_value  int NOT NULL
);
COMMENT ON TABLE ptl_synth.generated_batch IS
    'Load batches opened by generate() (kept across calls, for purge())';
COMMENT ON COLUMN ptl_synth.generated_batch.batch_id IS 'Batch number in ptl.batch';
COMMENT ON COLUMN ptl_synth.generated_batch.site_code IS 'Site the batch is for';
COMMENT ON COLUMN ptl_synth.generated_batch.seed_value IS 'Seed of the call that opened it';

-- Default fault rates.  invalid_nhs_number, missing_nhs_number and
-- cross_site_duplicate_patient are shares of patient rows;
-- duplicate_pathway a share of referrals; malformed_date and malformed_code
-- shares of all staged rows (they land on rows whose rejection leaves the
-- expected clock intact where possible, see generate()).
CREATE FUNCTION ptl_synth.default_fault_rates() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{"invalid_nhs_number": 0.002, "missing_nhs_number": 0.01,
         "cross_site_duplicate_patient": 0.02, "duplicate_pathway": 0.002,
         "malformed_date": 0.001, "malformed_code": 0.001}'::jsonb;
COMMENT ON FUNCTION ptl_synth.default_fault_rates() IS
    'Fault rates generate() uses unless its fault_rates argument overrides them';

-- pg_dump keeps the truth with the data it describes (and purge() keeps
-- working after a restore); the calibration tables are recreated by CREATE
-- EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.run', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.person', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.patient_record', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.pathway_truth', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.injected_fault', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.created_reference', '');
SELECT pg_catalog.pg_extension_config_dump('ptl_synth.generated_batch', '');

-- Cumulative thresholds for width_bucket(): for weights w1..wn, the n-1
-- running shares w1/W, (w1+w2)/W, ...; width_bucket(u, thresholds) is then
-- the 0-based index of the item u falls on.
CREATE FUNCTION ptl_synth.thresholds(w float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(array_agg(s.c ORDER BY s.k), '{}')
    FROM (SELECT t.k, sum(t.x) OVER (ORDER BY t.k) / sum(t.x) OVER () AS c
          FROM unnest(w) WITH ORDINALITY AS t (x, k)) s
    WHERE s.k < cardinality(w);
END;
COMMENT ON FUNCTION ptl_synth.thresholds(float8[]) IS
    'Running shares of a weight list without the last (1.0): the thresholds width_bucket() needs to pick an item with those weights';

-- ---------------------------------------------------------------------------
-- generate(): one synthetic ICS.
--
-- The story of every referral is decided first, in a plan (one row per
-- pathway record, every date of its events in slots), then the extracts are
-- written from the plan in one INSERT ... SELECT each.  The event slots are:
--    1 referral (transfer_in on a receiving provider's record)
--    2 patient or provider cancellation before the first contact
--    3 first outpatient attendance (10), or first-appointment DNA (33)
--    4 follow-up (20)          5 follow-up or later DNA (20)
--    6 decision to admit (20)  7 TCI offer later declined  8 TCI declined
--    9 TCI offer (booked or taken)
--   10 the clock stop: admission (30), treatment in clinic (30), discharge
--      (34), active monitoring (32), declined (35), death (36); or the
--      transfer_out (21)
--   11 activity after the stop (90), or during active monitoring (91)
--   12 new period: patient_ready (11) after active monitoring, or the rebook
--      (a referral event) after a nullifying DNA
--   13 first activity of the new period
-- No event is dated after the census; a booked admission shows only as a
-- tci_offer whose ref_date (and the waiting-list tci_date) is in the future.
-- The referral event carries no RTT status (its kind starts the clock) and
-- neither do cancellations and TCI offers; transfer_in carries 20.  A
-- tci_declined event has event_date = ref_date = the day the patient
-- declined; the admission date declined is the earlier tci_offer's
-- ref_date.  Stage mix and waits follow the calibration tables above; the
-- event spacing (days between visits, the chances of a follow-up, a
-- cancellation, a declined offer) is the author's judgement.
--
-- Arguments: referrals 1 to 12,500,000; census not after today; trusts 1 to
-- 90; sites_per_trust 1 to 99; fault_rates overrides default_fault_rates().
-- One call describes one synthetic ICS: the truth tables are emptied and
-- refilled; reference rows already in ptl are kept (ON CONFLICT DO
-- NOTHING), so calling again adds none twice; every call opens new batches
-- (the rows staged by earlier calls stay until loaded or purged).  Rows are
-- staged in (site, pathway record, event slot) order, so their row numbers
-- are reproducible.  The work happens in temporary tables, dropped at the
-- end (measured: 6.6 GB of them for 10 million referrals).
-- ---------------------------------------------------------------------------
-- Whether ptl's loading policy (ptl.extract_column) quarantines a row for
-- this value in this column: the column quarantines, or it is required and
-- the value is missing, malformed or (a date) unusable.  Otherwise the row
-- loads with a warning.
CREATE FUNCTION ptl_synth.policy_quarantines(extract_name text, column_name text, bad_value text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (SELECT c.when_invalid = 'quarantine'
               OR (c.required AND (ptl.extract_value(bad_value) IS NULL OR bad_value !~ coalesce(c.pattern, '')
                                   OR c.value_type = 'date'::regtype))
        FROM ptl.extract_column c
        WHERE c.extract = extract_name AND c.column_name = policy_quarantines.column_name);
COMMENT ON FUNCTION ptl_synth.policy_quarantines(text, text, text) IS
    'Whether ptl''s loading policy quarantines a row whose column holds this bad value (else the row loads with a warning)';

-- Planting the loading policy's faults (ptl.load_policy) in staged rows:
-- used by the suites that prove the policy (test/pgtap/load_policy.sql,
-- test/pgtap/no_patient_lost.sql).

-- Whether a value breaks a column's rule, as the loader tests it.
CREATE FUNCTION ptl_synth.value_breaks(c ptl.extract_column, v text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    t text := ptl_internal.extract_column_fails(c, current_date);
    r boolean;
BEGIN
    IF t IS NULL THEN RETURN false; END IF;
    EXECUTE format('SELECT coalesce(%s, false) FROM (SELECT $1::text AS %I) s', t, c.column_name) INTO r USING v;
    RETURN r;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.value_breaks(ptl.extract_column, text) IS
    'Whether the loader''s test for a column (ptl_internal.extract_column_fails) finds the value at fault';

-- A value with a fault of the policy (missing, malformed, implausible,
-- unknown_code), made from the column's own rule.
CREATE FUNCTION ptl_synth.fault_value(c ptl.extract_column, fault text, skip int DEFAULT 0) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    v text;
    i int;
    found int := 0;
BEGIN
    IF fault = 'missing' THEN RETURN ''; END IF;
    IF fault = 'implausible' THEN RETURN (c.earliest_date - 1)::text; END IF;
    IF fault = 'unknown_code' THEN
        -- well-formed codes the reference table does not hold, the skip-th
        -- of them (so that rows planted together get codes of their own)
        FOR i IN 0..999 LOOP
            FOREACH v IN ARRAY ARRAY[format('ZZ%s', 999 - i), format('Z%s', 99 - i % 100), lpad((999 - i)::text, 3, '0'),
                                     format('Z%sZ', lpad((999 - i)::text, 3, '0'))] LOOP
                IF (c.pattern IS NULL OR v ~ c.pattern) AND NOT EXISTS (
                       SELECT 1 FROM ptl.site WHERE c.code_table = 'site' AND site_code = v
                       UNION ALL SELECT 1 FROM ptl.commissioner WHERE c.code_table = 'commissioner' AND commissioner_code = v
                       UNION ALL SELECT 1 FROM ptl.treatment_function WHERE c.code_table = 'treatment_function' AND tfc = v) THEN
                    IF found = skip THEN
                        RETURN v;
                    END IF;
                    found := found + 1;
                    EXIT;
                END IF;
            END LOOP;
        END LOOP;
        RETURN NULL;
    END IF;
    FOREACH v IN ARRAY ARRAY['31/02/2024', '=1+1', 'not valid!', '-1', '99999999999'] LOOP
        IF ptl.extract_value(v) IS NOT NULL AND ptl_synth.value_breaks(c, v) THEN
            RETURN v;
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.fault_value(ptl.extract_column, text, int) IS
    'A value with the fault (missing, malformed, implausible, unknown_code) for a column, made from its rule in ptl.extract_column; for an unknown code, the skip-th well-formed code its table does not hold';

-- Stage one row (an object of staged columns) with its place in the extract.
CREATE FUNCTION ptl_synth.stage_row(batch bigint, extract_name text, row_value jsonb, place bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, ptl, pg_temp
AS $fn$
DECLARE
    cols text := (SELECT string_agg(quote_ident(c.column_name), ', ' ORDER BY c.ordinal)
                  FROM ptl.extract_column c WHERE c.extract = extract_name);
BEGIN
    EXECUTE format('INSERT INTO ptl_stage.%1$I (batch_id, source_row, %2$s)
                    SELECT $1, $2, %2$s FROM jsonb_populate_record(NULL::ptl_stage.%1$I, $3)', extract_name, cols)
        USING batch, place, row_value;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.stage_row(bigint, text, jsonb, bigint) IS
    'Stages one row, given as an object of its columns, at a place (source_row) in its extract';

CREATE FUNCTION ptl_synth.generate(referrals bigint DEFAULT 200000,
                                   seed int DEFAULT 42,
                                   census date DEFAULT '2025-03-31',
                                   trusts int DEFAULT 3,
                                   sites_per_trust int DEFAULT 2,
                                   fault_rates jsonb DEFAULT '{}')
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET work_mem = '1GB'
SET jit = off
SET enable_memoize = off
AS $fn$
DECLARE
    v_n         bigint := referrals;
    v_np        bigint;
    v_census    date := census;
    v_trusts    int := trusts;
    v_spt       int := sites_per_trust;
    v_ns        int;
    v_nl        int;
    -- independent streams of the hash PRNG
    v_sp        bigint := seed::bigint * 8 + 1;    -- per referral
    v_sq        bigint := seed::bigint * 8 + 2;    -- per person
    v_sr        bigint := seed::bigint * 8 + 3;    -- per patient record
    v_sw        bigint := seed::bigint * 8 + 5;    -- per referral, second stream
    v_rates     jsonb;
    v_r_inv     float8;
    v_r_miss    float8;
    v_r_xdup    float8;
    v_r_pdup    float8;
    v_r_date    float8;
    v_r_code    float8;
    v_q_force   float8;
    v_f_scale   float8;
    v_nhs_salt  bigint := floor(ptl_synth.u(3, seed::bigint * 8 + 6) * 10000000)::bigint;
    v_ppid_salt bigint := floor(ptl_synth.u(1, seed::bigint * 8 + 6) * 1000000000)::bigint;
    v_ubrn_salt bigint := floor(ptl_synth.u(2, seed::bigint * 8 + 6) * 1000000000000)::bigint;
    v_g_m       text[];
    v_g_f       text[];
    v_nick      text[];
    v_given_all text[];
    v_fam       text[];
    v_street    text[];
    v_suffix    text[];
    v_place     text[];
    v_eth       text[];
    v_eth_cum   float8[];
    v_age_cum   float8[];
    v_tfc       text[];
    v_tfc_cum   float8[];
    v_tfc_m     text[];
    v_tfc_m_cum float8[];
    v_tfc_c     text[];
    v_tfc_c_cum float8[];
    v_paed      text[];
    v_paed_cum  float8[];
    v_cum_on    float8[];
    v_cum_oa    float8[];
    v_cum_ca    float8[];
    v_cum_cn    float8[];
    v_subicb    text[] := ARRAY['9ZA', '9ZB', '9ZC', '9ZD', '9ZE'];
    v_bad_dates text[] := ARRAY['2025-02-30', '31/13/2024', 'N/A', '2025-1-32', ''];
    v_prev_batch text := current_setting('ptl.current_batch', true);
    v_label     text;
    v_key       text;
    v_site      record;
BEGIN
    -- Arguments ----------------------------------------------------------
    IF referrals IS NULL OR referrals < 1 THEN
        RAISE EXCEPTION 'referrals must be at least 1 (got %)', referrals
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_np := ceil(v_n * 0.8)::bigint;      -- about 1.25 referrals per person
    IF v_np > 10000000 THEN
        RAISE EXCEPTION 'referrals must be at most 12500000 (got %)', referrals
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Synthetic NHS numbers and hospital numbers are unique for up to 10 million persons.';
    END IF;
    IF seed IS NULL OR census IS NULL THEN
        RAISE EXCEPTION 'seed and census must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF census > current_date THEN
        RAISE EXCEPTION 'census % is in the future', census
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Referrals are dated up to the census, and ptl.load() quarantines referrals received after the day their batch is opened.';
    END IF;
    IF trusts IS NULL OR trusts NOT BETWEEN 1 AND 90 THEN
        RAISE EXCEPTION 'trusts must be between 1 and 90 (got %)', trusts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sites_per_trust IS NULL OR sites_per_trust NOT BETWEEN 1 AND 99 THEN
        RAISE EXCEPTION 'sites_per_trust must be between 1 and 99 (got %)', sites_per_trust
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A site code is the trust code and two digits.';
    END IF;
    IF fault_rates IS NOT NULL AND jsonb_typeof(fault_rates) <> 'object' THEN
        RAISE EXCEPTION 'fault_rates must be a JSON object, e.g. {"missing_nhs_number": 0.05}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(coalesce(fault_rates, '{}')) LOOP
        IF NOT ptl_synth.default_fault_rates() ? v_key THEN
            RAISE EXCEPTION 'unknown fault rate "%"', v_key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Known rates: %s.',
                                    (SELECT string_agg(k, ', ' ORDER BY k)
                                     FROM jsonb_object_keys(ptl_synth.default_fault_rates()) k));
        END IF;
        IF jsonb_typeof(fault_rates -> v_key) <> 'number'
           OR (fault_rates ->> v_key)::float8 NOT BETWEEN 0 AND 1 THEN
            RAISE EXCEPTION 'fault rate "%" must be a number between 0 and 1 (got %)',
                            v_key, fault_rates -> v_key
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    v_rates := ptl_synth.default_fault_rates() || coalesce(fault_rates, '{}');
    v_r_inv  := (v_rates ->> 'invalid_nhs_number')::float8;
    v_r_miss := (v_rates ->> 'missing_nhs_number')::float8;
    v_r_xdup := (v_rates ->> 'cross_site_duplicate_patient')::float8;
    v_r_pdup := (v_rates ->> 'duplicate_pathway')::float8;
    v_r_date := (v_rates ->> 'malformed_date')::float8;
    v_r_code := (v_rates ->> 'malformed_code')::float8;
    IF v_r_inv + v_r_miss + v_r_code > 1 THEN
        RAISE EXCEPTION 'invalid_nhs_number + missing_nhs_number + malformed_code must not exceed 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_ns := v_trusts * v_spt;
    v_nl := 500 * v_trusts;
    -- A second record with typing slips is made by sending one of a
    -- person's later referrals to another site.  About 0.9 patient records
    -- are staged per referral and 1 - 0.8 of referrals are later ones.
    v_q_force := least(1.0, v_r_xdup * 0.9 * v_n / greatest(v_n - v_np, 1));

    -- Calibration data into arrays ----------------------------------------
    SELECT array_agg(value ORDER BY ord) INTO v_g_m FROM ptl_synth.name_part WHERE kind = 'given_male';
    SELECT array_agg(value ORDER BY ord) INTO v_g_f FROM ptl_synth.name_part WHERE kind = 'given_female';
    SELECT array_agg(value ORDER BY kind DESC, ord), array_agg(nickname ORDER BY kind DESC, ord)
      INTO v_given_all, v_nick
      FROM ptl_synth.name_part WHERE kind IN ('given_male', 'given_female');
    SELECT array_agg(value ORDER BY ord) INTO v_fam FROM ptl_synth.name_part WHERE kind = 'family';
    SELECT array_agg(value ORDER BY ord) INTO v_street FROM ptl_synth.name_part WHERE kind = 'street';
    SELECT array_agg(value ORDER BY ord) INTO v_suffix FROM ptl_synth.name_part WHERE kind = 'street_suffix';
    SELECT array_agg(value ORDER BY ord) INTO v_place FROM ptl_synth.name_part WHERE kind = 'place';
    SELECT array_agg(code ORDER BY ord), ptl_synth.thresholds(array_agg(weight ORDER BY ord))
      INTO v_eth, v_eth_cum FROM ptl_synth.ethnic_mix;
    SELECT ptl_synth.thresholds(array_agg(weight ORDER BY decade)) INTO v_age_cum FROM ptl_synth.age_mix;
    -- Adults' referrals spread over the non-paediatric functions in
    -- proportion to line weight x share; children reach the paediatric
    -- functions through a separate draw (see below).
    -- Males are not referred to gynaecology: they draw from the same mix
    -- without it.
    SELECT array_agg(t.tfc ORDER BY t.tfc), ptl_synth.thresholds(array_agg(l.weight * t.share ORDER BY t.tfc))
      INTO v_tfc, v_tfc_cum
      FROM ptl_synth.tfc_mix t JOIN ptl_synth.rtt_line_mix l ON l.line = t.line
     WHERE NOT t.paediatric;
    SELECT array_agg(t.tfc ORDER BY t.tfc), ptl_synth.thresholds(array_agg(l.weight * t.share ORDER BY t.tfc))
      INTO v_tfc_m, v_tfc_m_cum
      FROM ptl_synth.tfc_mix t JOIN ptl_synth.rtt_line_mix l ON l.line = t.line
     WHERE NOT t.paediatric AND t.tfc NOT IN ('502', '503');
    SELECT array_agg(t.tfc ORDER BY t.tfc), ptl_synth.thresholds(array_agg(t.share ORDER BY t.tfc))
      INTO v_paed, v_paed_cum
      FROM ptl_synth.tfc_mix t WHERE t.paediatric;
    -- Children not sent to a paediatric service go to the adult services
    -- that see children (author's judgement), in the calibrated proportions.
    SELECT array_agg(t.tfc ORDER BY t.tfc), ptl_synth.thresholds(array_agg(l.weight * t.share ORDER BY t.tfc))
      INTO v_tfc_c, v_tfc_c_cum
      FROM ptl_synth.tfc_mix t JOIN ptl_synth.rtt_line_mix l ON l.line = t.line
     WHERE t.tfc IN ('100', '101', '110', '120', '130', '140', '145', '160', '301', '320', '330', '340', '400');
    SELECT ptl_synth.thresholds(array_agg(w_open_non_admitted ORDER BY band)),
           ptl_synth.thresholds(array_agg(w_open_admitted ORDER BY band)),
           ptl_synth.thresholds(array_agg(w_completed_admitted ORDER BY band)),
           ptl_synth.thresholds(array_agg(w_completed_non_admitted ORDER BY band))
      INTO v_cum_on, v_cum_oa, v_cum_ca, v_cum_cn
      FROM ptl_synth.wait_shape;

    -- The work tables (temporary) are large: give them more local buffers
    -- when the session still allows it (only before its first temporary
    -- table; the setting lasts until the end of the transaction).
    BEGIN
        PERFORM set_config('temp_buffers', '1GB', true);
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    -- Work tables of an earlier call in this transaction go first.
    FOR v_key IN SELECT unnest(ARRAY['synth_site', 'synth_multi', 'synth_pb', 'synth_plan', 'synth_rec', 'synth_proc']) LOOP
        IF to_regclass('pg_temp.' || v_key) IS NOT NULL THEN
            EXECUTE format('DROP TABLE pg_temp.%I', v_key);
        END IF;
    END LOOP;

    -- Sites and their systems' house styles -------------------------------
    -- Site 2 (the second site of the first trust) writes dates day first;
    -- every second site writes NHS numbers 3-3-4 with spaces; every third
    -- writes family names in capitals; hospital numbers come in four styles.
    CREATE TEMP TABLE synth_site ON COMMIT DROP AS
    SELECT x.site_idx, x.trust_idx, x.org_code,
           x.org_code || lpad((x.site_idx % v_spt + 1)::text, 2, '0') AS site_code,
           'PAS-' || x.org_code || lpad((x.site_idx % v_spt + 1)::text, 2, '0') AS source_system,
           NULL::bigint AS batch_id,
           (v_ns > 1 AND x.site_idx = 1) AS dmy,
           (x.site_idx % 2 = 1) AS nhs_spaced,
           (x.site_idx % 3 = 2) AS upper_family,
           x.site_idx % 4 AS lpid_style,
           floor(ptl_synth.u(x.site_idx, seed::bigint * 8 + 4) * 100000000)::bigint AS lpid_salt
    FROM (SELECT s AS site_idx, s / v_spt AS trust_idx, ptl_synth.trust_code(s / v_spt + 1) AS org_code
          FROM generate_series(0, v_ns - 1) s) x;

    -- 1. Reference data (kept if already there) ---------------------------
    WITH ins AS (
        INSERT INTO ptl.organisation (org_code, name, org_kind, parent_org_code, in_ics)
        VALUES ('QZZ', 'Northvale and Eastmere Integrated Care Board (synthetic)', 'ics', NULL, true)
        ON CONFLICT DO NOTHING RETURNING org_code)
    INSERT INTO ptl_synth.created_reference SELECT 'organisation', org_code FROM ins ON CONFLICT DO NOTHING;

    WITH ins AS (
        INSERT INTO ptl.organisation (org_code, name, org_kind, parent_org_code, in_ics)
        SELECT ptl_synth.trust_code(k),
               coalesce(v_place[k], v_place[(k - 1) % 30 + 1] || ' ' || ((k - 1) / 30 + 1))
               || CASE k % 3 WHEN 1 THEN ' Hospitals NHS Foundation Trust'
                             WHEN 2 THEN ' University Hospitals NHS Trust'
                             ELSE ' and District NHS Foundation Trust' END,
               'nhs_trust', 'QZZ', true
        FROM generate_series(1, v_trusts) k
        ORDER BY k
        ON CONFLICT DO NOTHING RETURNING org_code)
    INSERT INTO ptl_synth.created_reference SELECT 'organisation', org_code FROM ins ON CONFLICT DO NOTHING;

    WITH ins AS (
        INSERT INTO ptl.site (site_code, org_code, name, postcode)
        SELECT s.site_code, s.org_code,
               CASE WHEN s.site_idx % v_spt = 0
                    THEN v_place[s.trust_idx % 30 + 1] || ' General Hospital'
                    ELSE v_place[(s.trust_idx * 7 + (s.site_idx % v_spt) * 3) % 30 + 1]
                         || CASE (s.site_idx % v_spt) % 3 WHEN 1 THEN ' Community Hospital'
                                                          WHEN 2 THEN ' Treatment Centre'
                                                          ELSE ' Hospital' END END,
               'Q' || substr('ABDEFGHJLNPRSTUWY', s.trust_idx % 17 + 1, 1)
                   || ((s.site_idx % v_spt) % 20 + 1)::text || ' ' || ((s.site_idx % v_spt) % 10)::text || 'HQ'
        FROM pg_temp.synth_site s
        ORDER BY s.site_idx
        ON CONFLICT DO NOTHING RETURNING site_code)
    INSERT INTO ptl_synth.created_reference SELECT 'site', site_code FROM ins ON CONFLICT DO NOTHING;

    WITH ins AS (
        INSERT INTO ptl.commissioner (commissioner_code, name, commissioner_kind, parent_code)
        VALUES ('QZZ', 'NHS Northvale and Eastmere Integrated Care Board (synthetic)', 'icb', NULL),
               ('9ZA', 'NHS Northvale and Eastmere ICB - 9ZA (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('9ZB', 'NHS Northvale and Eastmere ICB - 9ZB (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('9ZC', 'NHS Northvale and Eastmere ICB - 9ZC (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('9ZD', 'NHS Northvale and Eastmere ICB - 9ZD (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('9ZE', 'NHS Northvale and Eastmere ICB - 9ZE (synthetic Sub-ICB location)', 'sub_icb', 'QZZ'),
               ('13Z', 'NHS England specialised commissioning (synthetic hub)', 'nhs_england', NULL),
               ('NONC', 'Non-English commissioner', 'non_english', NULL)
        ON CONFLICT DO NOTHING RETURNING commissioner_code)
    INSERT INTO ptl_synth.created_reference SELECT 'commissioner', commissioner_code FROM ins ON CONFLICT DO NOTHING;

    -- 500 synthetic LSOAs per trust's catchment, E01900001 upwards (real
    -- LSOA codes stop near E01035000).  Deprivation decile: uniform, skewed
    -- towards deprived areas around the first of every three trusts and
    -- towards affluent ones around the third (author's judgement).
    WITH ins AS (
        INSERT INTO ptl.area_deprivation (lsoa_code, imd_decile)
        SELECT 'E01' || (900000 + l)::text,
               (1 + floor(power(ptl_synth.u(l, 7077),
                                CASE ((l - 1) / 500) % 3 WHEN 0 THEN 1.4 WHEN 1 THEN 1.0 ELSE 0.7 END) * 10))::smallint
        FROM generate_series(1, v_nl) l
        ORDER BY l
        ON CONFLICT DO NOTHING RETURNING lsoa_code)
    INSERT INTO ptl_synth.created_reference SELECT 'area_deprivation', lsoa_code FROM ins ON CONFLICT DO NOTHING;

    -- 2. One batch per site --------------------------------------------------
    v_label := format('ptl_synth seed %s, %s referrals, census %s', seed, referrals, v_census);
    FOR v_site IN SELECT * FROM pg_temp.synth_site ORDER BY site_idx LOOP
        UPDATE pg_temp.synth_site
           SET batch_id = ptl.open_batch(v_site.org_code, v_site.source_system, v_site.site_code, v_label)
         WHERE site_idx = v_site.site_idx;
    END LOOP;
    ANALYZE pg_temp.synth_site;
    INSERT INTO ptl_synth.generated_batch (batch_id, site_code, seed_value)
    SELECT s.batch_id, s.site_code, seed FROM pg_temp.synth_site s ORDER BY s.site_idx;
    PERFORM set_config('ptl.current_batch', coalesce(v_prev_batch, ''), false);

    -- 3. Truth is replaced (link_world()'s too) -------------------------------
    TRUNCATE ptl_synth.injected_fault, ptl_synth.pathway_truth, ptl_synth.patient_record,
             ptl_synth.person, ptl_synth.run, ptl_synth.link_world_fault, ptl_synth.link_world_relative;

    -- 4. Persons ---------------------------------------------------------------
    -- Sex: 45.5% male, 54.0% female (women are referred more), a few 9 and X
    -- (author's judgement).  Home: a uniformly chosen synthetic LSOA, which
    -- fixes the trust catchment, the GP practice (12 LSOAs each) and the
    -- Sub-ICB; 0.5% live outside England (NONC, Welsh-style practice code);
    -- 1% have no registered practice.
    -- NHS number: 9, seven digits that are a bijection of the person number
    -- (so no two persons share one), and a ninth digit moved on by one when
    -- it would leave no valid check digit; then the Modulus 11 check digit.
    -- Numbers starting with 9 are outside every range issued to patients in
    -- England, Wales, Scotland and Northern Ireland,
    -- so no synthetic number can be a real patient's.
    -- (Queries here are chains of CTEs fenced with OFFSET 0: each level reads
    -- the previous one's columns, which keeps expressions small and costs
    -- far less than LATERAL subqueries.)
    WITH a AS (
        SELECT p,
               CASE WHEN ptl_synth.u(p * 64 + 2, v_sq) < 0.455 THEN '1'
                    WHEN ptl_synth.u(p * 64 + 2, v_sq) < 0.990 THEN '2'
                    WHEN ptl_synth.u(p * 64 + 2, v_sq) < 0.993 THEN '9'
                    ELSE 'X' END AS sex,
               width_bucket(ptl_synth.u(p * 64 + 4, v_sq), v_age_cum) AS decade,
               1 + floor(ptl_synth.u(p * 64 + 6, v_sq) * v_nl)::int AS lsoa_idx,
               ptl_synth.u(p * 64 + 7, v_sq) < 0.005 AS nonc,
               90000000 + (p * 7919 + v_nhs_salt) % 10000000 AS n8,
               floor(ptl_synth.u(p * 64 + 1, v_sq) * 10)::int AS h
        FROM generate_series(1, v_np) AS p
        OFFSET 0),
    b AS (
        SELECT a.*,
               (a.lsoa_idx - 1) / 500 AS trust_idx,
               floor((CASE WHEN a.decade = 0 THEN 4 + floor(ptl_synth.u(a.p * 64 + 5, v_sq) * 6)
                           ELSE a.decade * 10 + floor(ptl_synth.u(a.p * 64 + 5, v_sq) * 10) END) * 365.25
                     + ptl_synth.u(a.p * 64 + 8, v_sq) * 365)::int AS age_days,
               CASE WHEN ptl_synth.mod11_remainder(a.n8 * 10 + a.h) = 1
                    THEN a.n8 * 10 + (a.h + 1) % 10 ELSE a.n8 * 10 + a.h END AS n9
        FROM a
        OFFSET 0)
    INSERT INTO ptl_synth.person (person_id, nhs_number, given_name, family_name, date_of_birth,
                                  date_of_death, sex, postcode, address_line_1, ethnic_category,
                                  lsoa_code, gp_practice_code, commissioner_code, home_site_code)
    SELECT b.p,
           b.n9::text || ptl_synth.nhs_check_digit(b.n9)::text,
           CASE WHEN b.sex = '1' OR (b.sex IN ('9', 'X') AND ptl_synth.u(b.p * 64 + 3, v_sq) < 0.5)
                THEN v_g_m[1 + floor(ptl_synth.u(b.p * 64 + 9, v_sq) * cardinality(v_g_m))::int]
                ELSE v_g_f[1 + floor(ptl_synth.u(b.p * 64 + 9, v_sq) * cardinality(v_g_f))::int] END,
           v_fam[1 + floor(ptl_synth.u(b.p * 64 + 10, v_sq) * cardinality(v_fam))::int],
           v_census - b.age_days,
           NULL,
           b.sex,
           'Q' || substr('ABDEFGHJLNPRSTUWY', b.trust_idx % 17 + 1, 1)
               || (1 + ((b.lsoa_idx - 1) % 500) / 25)::text || ' '
               || floor(ptl_synth.u(b.p * 64 + 15, v_sq) * 10)::int::text
               || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + floor(ptl_synth.u(b.p * 64 + 16, v_sq) * 20)::int, 1)
               || substr('ABDEFGHJLNPQRSTUWXYZ', 1 + floor(ptl_synth.u(b.p * 64 + 17, v_sq) * 20)::int, 1),
           (1 + floor(power(ptl_synth.u(b.p * 64 + 18, v_sq), 2) * 150))::int::text || ' '
               || v_street[1 + floor(ptl_synth.u(b.p * 64 + 19, v_sq) * cardinality(v_street))::int] || ' '
               || v_suffix[1 + floor(ptl_synth.u(b.p * 64 + 20, v_sq) * cardinality(v_suffix))::int],
           v_eth[1 + width_bucket(ptl_synth.u(b.p * 64 + 11, v_sq), v_eth_cum)],
           CASE WHEN b.nonc THEN NULL ELSE 'E01' || (900000 + b.lsoa_idx)::text END,
           CASE WHEN b.nonc THEN 'W9' || lpad(floor(ptl_synth.u(b.p * 64 + 12, v_sq) * 10000)::int::text, 4, '0')
                WHEN ptl_synth.u(b.p * 64 + 13, v_sq) < 0.01 THEN NULL
                ELSE 'Z' || lpad(((b.lsoa_idx - 1) / 12 + 1)::text, 5, '0') END,
           CASE WHEN b.nonc THEN 'NONC' ELSE v_subicb[1 + ((b.lsoa_idx - 1) * 5) / v_nl] END,
           ptl_synth.trust_code(b.trust_idx + 1)
               || lpad((1 + floor(ptl_synth.u(b.p * 64 + 14, v_sq) * v_spt)::int)::text, 2, '0')
    FROM b;

    -- Persons with more than one referral (the later referrals, i > persons,
    -- each pick an existing person).  Only persons with one referral die.
    CREATE TEMP TABLE synth_multi ON COMMIT DROP AS
    SELECT DISTINCT (1 + floor(ptl_synth.u(i * 64 + 1, v_sp) * v_np))::bigint AS person_id
    FROM generate_series(v_np + 1, v_n) i;
    ANALYZE pg_temp.synth_multi;

    -- 5. The plan, stage 1: every referral's story and dates ------------------
    -- Streams: u(i*64+k, v_sp) and u(i*64+k, v_sw) for referral i.
    -- Key dates: s = clock start (the original referral), e = the stop (or
    -- the active-monitoring decision, the first-appointment DNA, the
    -- transfer out), r = the start of a second period.
    CREATE TEMP TABLE synth_pb ON COMMIT DROP AS
    WITH pick AS (
        -- who is referred: referrals 1..persons are each person's first;
        -- later ones pick a person, and a share of them is sent to another
        -- site on purpose (the person's second record gets typing slips)
        SELECT x.i, x.person_id, x.forced, pe.date_of_birth, pe.sex,
               pe.commissioner_code AS person_commissioner, hs.site_idx AS home_idx,
               mu.person_id IS NOT NULL AS multi
        FROM (SELECT i,
                     CASE WHEN i <= v_np THEN i
                          ELSE 1 + floor(ptl_synth.u(i * 64 + 1, v_sp) * v_np)::bigint END AS person_id,
                     (i > v_np AND v_ns > 1 AND ptl_synth.u(i * 64 + 4, v_sp) < v_q_force) AS forced
              FROM generate_series(1, v_n) AS i
              OFFSET 0) x
        JOIN ptl_synth.person pe ON pe.person_id = x.person_id
        JOIN pg_temp.synth_site hs ON hs.site_code = pe.home_site_code
        LEFT JOIN pg_temp.synth_multi mu ON mu.person_id = x.person_id
        OFFSET 0),
    placed AS (
        -- where it goes; the treatment function: by the calibrated mix
        -- (without gynaecology for males); 40% of children (under 16) to a
        -- paediatric service, the rest to adult services that see children
        -- (author's judgement)
        SELECT pick.*,
               CASE WHEN pick.forced
                    THEN (ptl_synth.natural_site(pick.person_id, v_sp, pick.home_idx, v_spt, v_ns) + 1
                          + floor(ptl_synth.u(pick.i * 64 + 5, v_sp) * (v_ns - 1))::int) % v_ns
                    ELSE ptl_synth.natural_site(pick.i, v_sp, pick.home_idx, v_spt, v_ns) END AS site_idx,
               CASE WHEN v_census - pick.date_of_birth < 5844 AND ptl_synth.u(pick.i * 64 + 7, v_sp) < 0.4
                    THEN v_paed[1 + width_bucket(ptl_synth.u(pick.i * 64 + 8, v_sp), v_paed_cum)]
                    WHEN v_census - pick.date_of_birth < 5844
                    THEN v_tfc_c[1 + width_bucket(ptl_synth.u(pick.i * 64 + 6, v_sp), v_tfc_c_cum)]
                    WHEN pick.sex = '1'
                    THEN v_tfc_m[1 + width_bucket(ptl_synth.u(pick.i * 64 + 6, v_sp), v_tfc_m_cum)]
                    ELSE v_tfc[1 + width_bucket(ptl_synth.u(pick.i * 64 + 6, v_sp), v_tfc_cum)] END AS tfc0
        FROM pick
        -- site order, while the rows are narrow: the plan is then stored
        -- in the order the extracts are written
        ORDER BY site_idx, pick.i
        OFFSET 0),
    lined AS (
        -- elderly medicine only from 65 (author's judgement); the line's
        -- stage mix; priority: two-week-wait 10% of referrals to
        -- cancer-prone services and 1% elsewhere, urgent 15% (author's
        -- judgement)
        SELECT placed.*, m.tfc, m.line, m.specialised, l.p_dta_open, l.p_admitted_stop,
               CASE WHEN ptl_synth.u(placed.i * 64 + 9, v_sp) < CASE WHEN m.cancer_prone THEN 0.10 ELSE 0.01 END THEN '3'
                    WHEN ptl_synth.u(placed.i * 64 + 9, v_sp) < CASE WHEN m.cancer_prone THEN 0.25 ELSE 0.16 END THEN '2'
                    ELSE '1' END AS priority
        FROM placed
        JOIN ptl_synth.tfc_mix m
          ON m.tfc = CASE WHEN placed.tfc0 = '430' AND v_census - placed.date_of_birth < 23741 THEN '300'
                          ELSE placed.tfc0 END
        JOIN ptl_synth.rtt_line_mix l ON l.line = m.line
        OFFSET 0),
    storied AS (
        -- e-RS: 60% of referrals carry a UBRN, 90% of two-week-wait ones.
        -- The story: 2.5% transferred to another trust, 3% first-appointment
        -- DNA (65% of them rebook), 1.5% active monitoring then a new
        -- period, 53% waiting at the census (with a decision to admit as
        -- often as the line's Part_2A share), 40% stopped (admitted as often
        -- as the line's Part_1A share; the non-admitted stops: 50%
        -- discharged, 32% treated in clinic, 10% active monitoring, 5%
        -- declined, 3% died).  Shares are the author's judgement except
        -- where the calibration tables say otherwise.
        SELECT lined.*,
               ptl_synth.u(lined.i * 64 + 10, v_sp) < CASE WHEN lined.priority = '3' THEN 0.9 ELSE 0.6 END AS ubrn_present,
               CASE WHEN x.v < 0.025 THEN CASE WHEN v_trusts > 1 THEN 'transferred' ELSE 'open_wait' END
                    WHEN x.v < 0.055 THEN CASE WHEN lined.priority = '3' THEN 'open_wait'
                                               WHEN ptl_synth.u(lined.i * 64 + 14, v_sp) < 0.65 THEN 'dna_rebook'
                                               ELSE 'nullified' END
                    WHEN x.v < 0.070 THEN 'am_restarted'
                    WHEN x.v < 0.600 THEN CASE WHEN ptl_synth.u(lined.i * 64 + 12, v_sp) < lined.p_dta_open
                                               THEN 'open_dta' ELSE 'open_wait' END
                    WHEN ptl_synth.u(lined.i * 64 + 12, v_sp) < lined.p_admitted_stop THEN 'stop_admitted'
                    WHEN ptl_synth.u(lined.i * 64 + 13, v_sp) < 0.50 THEN 'stop_discharged'
                    WHEN ptl_synth.u(lined.i * 64 + 13, v_sp) < 0.82 THEN 'stop_treated'
                    WHEN ptl_synth.u(lined.i * 64 + 13, v_sp) < 0.92 THEN 'stop_active_monitoring'
                    WHEN ptl_synth.u(lined.i * 64 + 13, v_sp) < 0.97 THEN 'stop_declined'
                    WHEN lined.i <= v_np AND NOT lined.multi THEN 'stop_died'
                    ELSE 'stop_discharged' END AS scn0,
               width_bucket(ptl_synth.u(lined.i * 64 + 15, v_sp), v_cum_on) AS bn,
               width_bucket(ptl_synth.u(lined.i * 64 + 15, v_sp), v_cum_oa) AS ba,
               width_bucket(ptl_synth.u(lined.i * 64 + 15, v_sp), v_cum_ca) AS bca,
               width_bucket(ptl_synth.u(lined.i * 64 + 15, v_sp), v_cum_cn) AS bcn,
               width_bucket(ptl_synth.u(lined.i * 64 + 19, v_sp), v_cum_cn) AS bcn2,
               ptl_synth.u(lined.i * 64 + 16, v_sp) AS v16,
               ptl_synth.u(lined.i * 64 + 20, v_sp) AS v20,
               ptl_synth.u(lined.i * 64 + 18, v_sp) AS v18
        FROM lined
        CROSS JOIN LATERAL (SELECT ptl_synth.u(lined.i * 64 + 11, v_sp) AS v) x
        OFFSET 0),
    waits AS (
        -- waits drawn from the calibrated week-band shapes: wn / wa waiting
        -- without / with a decision to admit, ta / tn clock-stop waits of
        -- admitted / non-admitted stops; g how long ago the stop was
        SELECT storied.*,
               ptl_synth.band_days(storied.bn, storied.v16) AS wn,
               ptl_synth.band_days(storied.ba, storied.v16) AS wa,
               ptl_synth.band_days(storied.bca, storied.v16) AS ta,
               ptl_synth.band_days(storied.bcn, storied.v16) AS tn,
               ptl_synth.band_days(storied.bcn2, storied.v20) AS tn2,
               floor(ptl_synth.u(storied.i * 64 + 17, v_sp) * 365)::int AS g,
               v_census - floor(ptl_synth.u(storied.i * 64 + 17, v_sp) * 300)::int AS dn
        FROM storied
        OFFSET 0),
    keyed0 AS (
        SELECT waits.*,
               CASE waits.scn0
                   WHEN 'open_wait' THEN v_census - waits.wn
                   WHEN 'open_dta' THEN v_census - greatest(waits.wa, 3)
                   WHEN 'stop_admitted' THEN v_census - waits.g - greatest(waits.ta, 3)
                   WHEN 'dna_rebook' THEN waits.dn - 14 - floor(waits.v18 * 60)::int
                   WHEN 'nullified' THEN waits.dn - 14 - floor(waits.v18 * 60)::int
                   WHEN 'am_restarted' THEN v_census - waits.wn - 28 - floor(waits.v18 * 180)::int - greatest(waits.tn2, 1)
                   WHEN 'transferred' THEN v_census - greatest(waits.wn, 28 + floor(waits.v18 * 56)::int)
                   ELSE v_census - waits.g - greatest(waits.tn, 1) END AS s,
               CASE waits.scn0
                   WHEN 'open_wait' THEN NULL
                   WHEN 'open_dta' THEN NULL
                   WHEN 'dna_rebook' THEN waits.dn
                   WHEN 'nullified' THEN waits.dn
                   WHEN 'am_restarted' THEN v_census - waits.wn - 28 - floor(waits.v18 * 180)::int
                   WHEN 'transferred' THEN NULL
                   ELSE v_census - waits.g END AS e0,
               CASE waits.scn0
                   WHEN 'am_restarted' THEN v_census - waits.wn
                   WHEN 'dna_rebook' THEN waits.dn + 3 + floor(ptl_synth.u(waits.i * 64 + 46, v_sw) * 25)::int
               END AS r0
        FROM waits
        OFFSET 0),
    keyed AS (
        -- the transfer out comes 30% to 80% of the way from the start to the
        -- census; a rebook after the census has not happened yet
        SELECT keyed0.*,
               CASE WHEN keyed0.scn0 = 'transferred'
                    THEN keyed0.s + greatest(3, floor((v_census - keyed0.s) * (0.3 + 0.5 * ptl_synth.u(keyed0.i * 64 + 56, v_sp)))::int)
                    ELSE keyed0.e0 END AS e,
               CASE WHEN keyed0.scn0 = 'dna_rebook' AND keyed0.r0 > v_census THEN NULL ELSE keyed0.r0 END AS r,
               CASE WHEN keyed0.scn0 = 'dna_rebook' THEN
                        CASE WHEN keyed0.r0 > v_census THEN 'nullified' ELSE 'dna_rebooked' END
                    ELSE keyed0.scn0 END AS scn,
               keyed0.scn0 IN ('stop_treated', 'stop_discharged', 'stop_active_monitoring', 'stop_declined', 'stop_died')
                   AS nonadm
        FROM keyed0
        OFFSET 0),
    visit1 AS (
        -- a non-admitted stop happens at the first appointment when the
        -- wait is short or 45% of the time; first appointment 7 to 127 days
        -- after referral for those still waiting (10% never seen yet)
        SELECT keyed.*,
               CASE WHEN keyed.nonadm THEN keyed.e - keyed.s < 14 OR ptl_synth.u(keyed.i * 64 + 24, v_sp) < 0.45
                    WHEN keyed.scn = 'am_restarted' THEN keyed.e - keyed.s < 3 OR ptl_synth.u(keyed.i * 64 + 24, v_sp) < 0.5
                    ELSE false END AS single
        FROM keyed
        OFFSET 0),
    visit3 AS (
        SELECT visit1.*,
               CASE
                 WHEN visit1.scn = 'open_wait' THEN
                     CASE WHEN ptl_synth.u(visit1.i * 64 + 47, v_sp) >= 0.1
                               AND 7 + floor(ptl_synth.u(visit1.i * 64 + 48, v_sp) * 120)::int <= v_census - visit1.s
                          THEN visit1.s + 7 + floor(ptl_synth.u(visit1.i * 64 + 48, v_sp) * 120)::int END
                 WHEN visit1.scn = 'open_dta' THEN
                     visit1.s + 1 + floor((v_census - visit1.s - 2) * (0.05 + 0.45 * ptl_synth.u(visit1.i * 64 + 25, v_sp)))::int
                 WHEN visit1.scn = 'stop_admitted' THEN
                     visit1.s + 1 + floor((visit1.e - visit1.s - 2) * (0.1 + 0.4 * ptl_synth.u(visit1.i * 64 + 25, v_sp)))::int
                 WHEN visit1.nonadm OR visit1.scn = 'am_restarted' THEN
                     CASE WHEN NOT visit1.single
                          THEN visit1.s + 1 + floor((visit1.e - visit1.s - 2) * (0.15 + 0.5 * ptl_synth.u(visit1.i * 64 + 25, v_sp)))::int END
                 WHEN visit1.scn IN ('nullified', 'dna_rebooked') THEN visit1.e
                 WHEN visit1.scn = 'transferred' THEN
                     visit1.s + 1 + floor((visit1.e - visit1.s - 1) * ptl_synth.u(visit1.i * 64 + 25, v_sp))::int
               END AS d03
        FROM visit1
        OFFSET 0),
    visit4 AS (
        -- follow-ups 4 to 17 weeks apart (author's judgement)
        SELECT visit3.*,
               CASE
                 WHEN visit3.scn = 'open_wait' THEN
                     CASE WHEN visit3.d03 IS NOT NULL AND ptl_synth.u(visit3.i * 64 + 26, v_sp) < 0.45
                               AND visit3.d03 + 28 + floor(ptl_synth.u(visit3.i * 64 + 27, v_sp) * 90)::int <= v_census
                          THEN visit3.d03 + 28 + floor(ptl_synth.u(visit3.i * 64 + 27, v_sp) * 90)::int END
                 WHEN visit3.scn = 'open_dta' THEN
                     CASE WHEN ptl_synth.u(visit3.i * 64 + 31, v_sp) < 0.4 AND v_census - visit3.d03 >= 14
                          THEN visit3.d03 + 7 + floor((v_census - visit3.d03 - 7) * ptl_synth.u(visit3.i * 64 + 32, v_sp))::int END
                 WHEN visit3.scn = 'stop_admitted' THEN
                     CASE WHEN ptl_synth.u(visit3.i * 64 + 31, v_sp) < 0.35 AND visit3.e - visit3.d03 >= 14
                          THEN visit3.d03 + 7 + floor((visit3.e - visit3.d03 - 8) * ptl_synth.u(visit3.i * 64 + 32, v_sp))::int END
                 WHEN visit3.nonadm THEN
                     CASE WHEN visit3.d03 IS NOT NULL AND ptl_synth.u(visit3.i * 64 + 26, v_sp) < 0.4 AND visit3.e - visit3.d03 >= 14
                          THEN visit3.d03 + 7 + floor((visit3.e - visit3.d03 - 8) * ptl_synth.u(visit3.i * 64 + 27, v_sp))::int END
               END AS d04
        FROM visit3
        OFFSET 0),
    visit6 AS (
        -- a second follow-up (15% of them missed: DNA, clock running); a
        -- discharge after a missed follow-up (25% of discharges seen more
        -- than once); the decision to admit at the last visit before it; some
        -- non-admitted stops come after a decision to admit (declined 50%,
        -- died 30%, discharged 5%)
        SELECT visit4.*,
               CASE
                 WHEN visit4.scn = 'open_wait' THEN
                     CASE WHEN visit4.d04 IS NOT NULL AND ptl_synth.u(visit4.i * 64 + 28, v_sp) < 0.3
                               AND visit4.d04 + 28 + floor(ptl_synth.u(visit4.i * 64 + 29, v_sp) * 90)::int <= v_census
                          THEN visit4.d04 + 28 + floor(ptl_synth.u(visit4.i * 64 + 29, v_sp) * 90)::int END
                 WHEN visit4.scn = 'stop_discharged' AND visit4.d03 IS NOT NULL THEN
                     CASE WHEN ptl_synth.u(visit4.i * 64 + 28, v_sp) < 0.25 AND visit4.e - coalesce(visit4.d04, visit4.d03) >= 4
                          THEN coalesce(visit4.d04, visit4.d03) + (visit4.e - coalesce(visit4.d04, visit4.d03)) / 2 END
               END AS d05,
               CASE
                 WHEN visit4.scn IN ('open_dta', 'stop_admitted') THEN coalesce(visit4.d04, visit4.d03)
                 WHEN visit4.d03 IS NOT NULL AND (
                          (visit4.scn = 'stop_declined' AND ptl_synth.u(visit4.i * 64 + 43, v_sp) < 0.5)
                       OR (visit4.scn = 'stop_died' AND ptl_synth.u(visit4.i * 64 + 43, v_sp) < 0.3)
                       OR (visit4.scn = 'stop_discharged' AND ptl_synth.u(visit4.i * 64 + 43, v_sp) < 0.05))
                 THEN coalesce(visit4.d04, visit4.d03)
               END AS d06
        FROM visit4
        OFFSET 0),
    offered AS (
        -- admitted: an earlier offer declined (15% of those waiting 35+
        -- days after the decision), else an offer 2 to 6 weeks before
        -- admission (85%); waiting with a decision: 25% booked in the next
        -- six weeks, 3% with a TCI date already past and no admission (a
        -- validation finding)
        SELECT visit6.*,
               (visit6.scn = 'stop_admitted' AND ptl_synth.u(visit6.i * 64 + 33, v_sp) < 0.15
                AND visit6.e - visit6.d06 >= 35) AS declined,
               CASE WHEN visit6.scn = 'open_dta' THEN
                        CASE WHEN ptl_synth.u(visit6.i * 64 + 44, v_sp) < 0.25 THEN 'future'
                             WHEN ptl_synth.u(visit6.i * 64 + 44, v_sp) < 0.28 AND v_census - visit6.d06 >= 2 THEN 'past' END
               END AS tci_kind,
               coalesce(visit6.d03, CASE WHEN visit6.scn NOT IN ('open_wait', 'open_dta') THEN visit6.e END, v_census)
                   AS first_contact
        FROM visit6
        OFFSET 0),
    slots AS (
        -- cancellations (12%, 60% by the provider) fall between the
        -- referral and the first contact; activity after the stop: a
        -- post-operative follow-up (50%), a follow-up after treatment in
        -- clinic (30%) or during active monitoring (40%); a second period's
        -- first activity 2 to 10 weeks after it starts
        SELECT offered.*,
               offered.s AS d01,
               CASE WHEN ptl_synth.u(offered.i * 64 + 21, v_sp) < 0.12 AND offered.first_contact - offered.s >= 2
                    THEN offered.s + 1 + floor((offered.first_contact - offered.s - 1)
                                               * ptl_synth.u(offered.i * 64 + 23, v_sp))::int END AS d02,
               ptl_synth.u(offered.i * 64 + 22, v_sp) < 0.6 AS provider_cancel,
               (offered.scn = 'stop_discharged' OR ptl_synth.u(offered.i * 64 + 30, v_sp) < 0.15) AS dna05,
               CASE WHEN offered.declined
                    THEN offered.d06 + floor((offered.e - offered.d06) * (0.05 + 0.10 * ptl_synth.u(offered.i * 64 + 34, v_sp)))::int END AS d07,
               CASE WHEN offered.declined
                    THEN offered.d06 + floor((offered.e - offered.d06) * (0.20 + 0.10 * ptl_synth.u(offered.i * 64 + 35, v_sp)))::int END AS d08,
               CASE WHEN offered.declined
                    THEN offered.d06 + floor((offered.e - offered.d06) * (0.35 + 0.10 * ptl_synth.u(offered.i * 64 + 36, v_sp)))::int END AS r07,
               CASE WHEN offered.scn = 'stop_admitted' THEN
                        CASE WHEN offered.declined
                             THEN offered.d06 + floor((offered.e - offered.d06) * (0.55 + 0.35 * ptl_synth.u(offered.i * 64 + 37, v_sp)))::int
                             WHEN ptl_synth.u(offered.i * 64 + 38, v_sp) < 0.85 AND offered.e - offered.d06 >= 2
                             THEN greatest(offered.d06, offered.e - 14 - floor(ptl_synth.u(offered.i * 64 + 39, v_sp) * 28)::int) END
                    WHEN offered.tci_kind = 'future'
                    THEN greatest(offered.d06, v_census - floor(ptl_synth.u(offered.i * 64 + 39, v_sp) * 14)::int)
                    WHEN offered.tci_kind = 'past'
                    THEN offered.d06 + floor((1 + floor((v_census - offered.d06 - 1) * ptl_synth.u(offered.i * 64 + 45, v_sp)))
                                             * 0.5 * ptl_synth.u(offered.i * 64 + 39, v_sp))::int
               END AS d09,
               CASE WHEN offered.scn = 'stop_admitted' THEN
                        CASE WHEN offered.declined
                                  OR (ptl_synth.u(offered.i * 64 + 38, v_sp) < 0.85 AND offered.e - offered.d06 >= 2)
                             THEN offered.e END
                    WHEN offered.tci_kind = 'future'
                    THEN v_census + 1 + floor(ptl_synth.u(offered.i * 64 + 45, v_sp) * 42)::int
                    WHEN offered.tci_kind = 'past'
                    THEN offered.d06 + 1 + floor((v_census - offered.d06 - 1) * ptl_synth.u(offered.i * 64 + 45, v_sp))::int
               END AS r09,
               CASE WHEN offered.nonadm OR offered.scn IN ('stop_admitted', 'am_restarted', 'transferred')
                    THEN offered.e END AS d10,
               CASE
                 WHEN offered.scn = 'stop_admitted' AND ptl_synth.u(offered.i * 64 + 41, v_sp) < 0.5
                      AND offered.e + 42 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 60)::int <= v_census
                 THEN offered.e + 42 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 60)::int
                 WHEN offered.scn = 'stop_treated' AND ptl_synth.u(offered.i * 64 + 41, v_sp) < 0.3
                      AND offered.e + 28 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 90)::int <= v_census
                 THEN offered.e + 28 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 90)::int
                 WHEN offered.scn = 'stop_active_monitoring' AND ptl_synth.u(offered.i * 64 + 41, v_sp) < 0.4
                      AND offered.e + 28 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 120)::int <= v_census
                 THEN offered.e + 28 + floor(ptl_synth.u(offered.i * 64 + 42, v_sp) * 120)::int
                 WHEN offered.scn = 'am_restarted' AND ptl_synth.u(offered.i * 64 + 41, v_sp) < 0.5
                      AND offered.r - offered.e >= 14
                 THEN offered.e + 7 + floor((offered.r - offered.e - 8) * ptl_synth.u(offered.i * 64 + 42, v_sp))::int
               END AS d11,
               CASE WHEN offered.scn IN ('am_restarted', 'dna_rebooked') THEN offered.r END AS d12,
               CASE
                 WHEN offered.scn = 'dna_rebooked'
                      AND offered.r + 14 + floor(ptl_synth.u(offered.i * 64 + 46, v_sp) * 56)::int <= v_census
                 THEN offered.r + 14 + floor(ptl_synth.u(offered.i * 64 + 46, v_sp) * 56)::int
                 WHEN offered.scn = 'am_restarted'
                      AND offered.r + 14 + floor(ptl_synth.u(offered.i * 64 + 46, v_sp) * 46)::int <= v_census
                 THEN offered.r + 14 + floor(ptl_synth.u(offered.i * 64 + 46, v_sp) * 46)::int
               END AS d13,
               -- a transfer: the receiving provider (another trust) gets the
               -- onward referral 1 to 13 days after the transfer out
               CASE WHEN offered.scn = 'transferred'
                    THEN least(v_census, offered.e + 1 + floor(ptl_synth.u(offered.i * 64 + 55, v_sp) * 13)::int) END AS y,
               CASE WHEN offered.scn = 'transferred'
                    THEN ((offered.site_idx / v_spt + 1 + floor(ptl_synth.u(offered.i * 64 + 49, v_sp) * (v_trusts - 1))::int) % v_trusts) * v_spt
                         + floor(ptl_synth.u(offered.i * 64 + 50, v_sp) * v_spt)::int END AS b_site
        FROM offered
        OFFSET 0),
    received AS (
        -- ... and then: 25% admitted there (clock stopped), 30% listed with
        -- a decision to admit, the rest waiting for a first appointment
        SELECT slots.*,
               CASE WHEN slots.y IS NULL THEN NULL
                    WHEN v_census - slots.y >= 14 AND ptl_synth.u(slots.i * 64 + 51, v_sp) < 0.25 THEN 'stop_admitted'
                    WHEN v_census - slots.y >= 2 AND ptl_synth.u(slots.i * 64 + 51, v_sp) < 0.55 THEN 'open_dta'
                    ELSE 'open_wait' END AS b_scn
        FROM slots
        OFFSET 0),
    received2 AS (
        SELECT received.*,
               CASE WHEN received.b_scn = 'stop_admitted'
                    THEN received.y + 7 + floor((v_census - received.y - 7) * ptl_synth.u(received.i * 64 + 52, v_sp))::int END AS b10
        FROM received
        OFFSET 0),
    received3 AS (
        SELECT received2.*,
               CASE received2.b_scn
                   WHEN 'stop_admitted'
                   THEN received2.y + 1 + floor((received2.b10 - received2.y - 2) * 0.5 * ptl_synth.u(received2.i * 64 + 53, v_sp))::int
                   WHEN 'open_dta'
                   THEN received2.y + 1 + floor((v_census - received2.y - 1) * 0.5 * ptl_synth.u(received2.i * 64 + 53, v_sp))::int
                   WHEN 'open_wait' THEN
                       CASE WHEN 7 + floor(ptl_synth.u(received2.i * 64 + 53, v_sp) * 60)::int <= v_census - received2.y
                            THEN received2.y + 7 + floor(ptl_synth.u(received2.i * 64 + 53, v_sp) * 60)::int END
               END AS b03
        FROM received2
        OFFSET 0)
    SELECT x.i, x.person_id, x.forced, x.site_idx, x.site_idx / v_spt AS a_trust,
           x.tfc, x.line, x.specialised, x.person_commissioner, x.priority, x.ubrn_present, x.scn,
           (x.scn <> 'transferred' AND ptl_synth.u(x.i * 64 + 57, v_sp) < v_r_pdup) AS dup,
           x.s, x.e, x.r,
           x.d01, x.d02, x.d03, x.d04, x.d05, x.d06, x.d07, x.d08, x.d09, x.d10, x.d11, x.d12, x.d13,
           x.r07, x.r09, x.provider_cancel, x.dna05,
           x.y, x.b_site, x.b_scn, x.b03, x.b10,
           CASE WHEN x.b_scn IN ('open_dta', 'stop_admitted') THEN x.b03 END AS b06,
           CASE WHEN x.b_scn = 'stop_admitted' THEN x.b03 + (x.b10 - x.b03) / 2
                WHEN x.b_scn = 'open_dta' AND ptl_synth.u(x.i * 64 + 20, v_sw) < 0.25
                THEN greatest(x.b03, v_census - 7) END AS b09,
           CASE WHEN x.b_scn = 'stop_admitted' THEN x.b10
                WHEN x.b_scn = 'open_dta' AND ptl_synth.u(x.i * 64 + 20, v_sw) < 0.25
                THEN v_census + 1 + floor(ptl_synth.u(x.i * 64 + 21, v_sw) * 42)::int END AS b_tci,
           CASE WHEN x.b_scn = 'stop_admitted' AND ptl_synth.u(x.i * 64 + 23, v_sw) < 0.5
                     AND x.b10 + 42 + floor(ptl_synth.u(x.i * 64 + 22, v_sw) * 60)::int <= v_census
                THEN x.b10 + 42 + floor(ptl_synth.u(x.i * 64 + 22, v_sw) * 60)::int END AS b11
    FROM received3 x;
    ANALYZE pg_temp.synth_pb;

    -- Deaths: the person dies on the date the pathway stops (the hospital
    -- is told the same day).
    UPDATE ptl_synth.person pe SET date_of_death = b.e
      FROM pg_temp.synth_pb b
     WHERE b.scn = 'stop_died' AND pe.person_id = b.person_id;

    -- 6. The plan, stage 2: one row per pathway record ------------------------
    -- original records; the receiving provider's record of each transfer
    -- (same PPID and issuer, first event transfer_in with the original clock
    -- start); and a second record of some referrals at the same provider
    -- under a new PPID (duplicate_pathway).  Malformed dates and codes are
    -- chosen here, on originals that are neither transferred nor duplicated,
    -- and land on a row whose loss leaves the expected clock intact: a
    -- cancellation, follow-up, TCI offer or decline, post-stop activity, a
    -- new period's first activity, or the waiting-list entry; 15% of the
    -- pathways chosen may take it on the pathway row itself instead (which
    -- quarantines the whole pathway: truth says faulted).
    -- Malformed values go only to rows whose loss leaves the clock intact
    -- (candidates); to make them the asked-for share of all non-patient
    -- rows, each candidate's chance is scaled by rows / candidates.
    SELECT sum(num_nonnulls(b.d01, b.d02, b.d03, b.d04, b.d05, b.d06, b.d07, b.d08, b.d09, b.d10, b.d11, b.d12, b.d13)
               + CASE WHEN b.d06 IS NOT NULL THEN 2 ELSE 1 END
               + CASE WHEN b.scn = 'transferred'
                      THEN num_nonnulls(b.y, b.b03, b.b06, b.b09, b.b10, b.b11) + CASE WHEN b.b06 IS NOT NULL THEN 2 ELSE 1 END
                      ELSE 0 END
               + CASE WHEN b.dup THEN 2 ELSE 0 END)::float8
           / greatest(1, sum(num_nonnulls(b.d02, b.d04, b.d05, b.d06, b.d07, b.d08, b.d09, b.d11, b.d13))
                         FILTER (WHERE b.scn <> 'transferred' AND NOT b.dup))
      INTO v_f_scale
      FROM pg_temp.synth_pb b;

    CREATE TEMP TABLE synth_plan ON COMMIT DROP AS
    WITH rec AS (
        SELECT b.i AS true_id, b.i AS plan_id, 'original'::text AS role, b.scn AS scenario,
               b.site_idx, b.a_trust, b.person_id, b.forced, b.dup AS dup_source,
               b.tfc, b.line, b.specialised, b.person_commissioner, b.priority, b.ubrn_present,
               b.s, b.s AS referral_received,
               b.d01, b.d02, b.d03, b.d04, b.d05, b.d06, b.d07, b.d08, b.d09, b.d10, b.d11, b.d12, b.d13,
               NULL::date AS r01, b.r07, b.r09, b.provider_cancel, b.dna05,
               b.e, b.r, NULL::text AS transferred_from
        FROM pg_temp.synth_pb b
        UNION ALL
        SELECT b.i, v_n + b.i, 'transfer_in', b.b_scn, b.b_site, b.a_trust, b.person_id, false, false,
               b.tfc, b.line, b.specialised, b.person_commissioner, b.priority, b.ubrn_present,
               b.s, b.y,
               b.y, NULL, b.b03, NULL, NULL, b.b06, NULL, NULL, b.b09, b.b10, b.b11, NULL, NULL,
               b.s, NULL, b.b_tci, false, false,
               b.b10, NULL, ptl_synth.trust_code(b.a_trust + 1)
        FROM pg_temp.synth_pb b
        WHERE b.scn = 'transferred'
        UNION ALL
        SELECT b.i, 2 * v_n + b.i, 'duplicate', 'duplicate', b.site_idx, b.a_trust, b.person_id, false, false,
               b.tfc, b.line, b.specialised, b.person_commissioner, b.priority, b.ubrn_present,
               b.s, b.s,
               b.s, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, false, false,
               NULL, NULL, NULL
        FROM pg_temp.synth_pb b
        WHERE b.dup),
    k1 AS (
        -- keys, the waiting-list entry and the answer key.  Clinical
        -- priority: FSSA codes, shares the author's judgement, urgent and
        -- two-week-wait referrals more often P2, 2-3% not recorded.
        SELECT r.*, st.batch_id, st.site_code, st.dmy,
               ptl_synth.local_patient_id(st.lpid_style, st.site_code, r.person_id, st.lpid_salt) AS local_patient_id,
               ptl_synth.trust_code(r.a_trust + 1) AS issuer_trust,
               CASE WHEN r.ubrn_present
                    THEN lpad(((r.true_id * 6700417 + v_ubrn_salt) % 1000000000000)::text, 12, '0') END AS ubrn,
               'C' || lpad((1000000 + (hashint8extended(r.site_idx::bigint * 10000000 + r.tfc::int * 10
                                                        + floor(ptl_synth.u(r.true_id * 64 + 40, v_sp) * 3)::int, 4242)
                                       & 2147483647) % 9000000)::text, 7, '0') AS consultant,
               CASE WHEN r.person_commissioner = 'NONC' THEN 'NONC'
                    WHEN r.specialised THEN '13Z'
                    ELSE r.person_commissioner END AS commissioner,
               CASE WHEN r.d06 IS NULL THEN NULL
                    WHEN r.priority = '1' THEN
                        CASE WHEN x.v < 0.002 THEN 'P1a' WHEN x.v < 0.010 THEN 'P1b' WHEN x.v < 0.130 THEN 'P2'
                             WHEN x.v < 0.510 THEN 'P3' WHEN x.v < 0.930 THEN 'P4' WHEN x.v < 0.950 THEN 'P5'
                             WHEN x.v < 0.980 THEN 'P6' END
                    ELSE
                        CASE WHEN x.v < 0.005 THEN 'P1a' WHEN x.v < 0.030 THEN 'P1b' WHEN x.v < 0.480 THEN 'P2'
                             WHEN x.v < 0.830 THEN 'P3' WHEN x.v < 0.950 THEN 'P4' WHEN x.v < 0.960 THEN 'P5'
                             WHEN x.v < 0.970 THEN 'P6' END
               END AS wl_prio,
               CASE WHEN r.d06 IS NULL THEN NULL
                    WHEN r.scenario = 'stop_admitted' THEN r.e
                    ELSE r.r09 END AS wl_tci,
               CASE WHEN r.d06 IS NOT NULL
                         AND r.scenario IN ('stop_admitted', 'stop_declined', 'stop_discharged', 'stop_died')
                    THEN r.e END AS wl_removed,
               CASE WHEN r.d06 IS NULL THEN NULL
                    WHEN r.scenario = 'stop_admitted' THEN 'admitted'
                    WHEN r.scenario = 'stop_died' THEN 'died'
                    WHEN r.scenario IN ('stop_declined', 'stop_discharged') THEN 'no_longer_required' END AS wl_reason,
               CASE WHEN r.role = 'duplicate' THEN 'duplicate'
                    WHEN r.scenario = 'transferred' THEN 'transferred_out'
                    WHEN r.scenario IN ('open_wait', 'open_dta', 'dna_rebooked', 'am_restarted') THEN 'waiting'
                    WHEN r.scenario = 'nullified' THEN 'nullified'
                    WHEN r.scenario = 'stop_admitted' THEN 'stopped_admitted'
                    ELSE 'stopped_non_admitted' END AS exp_outcome,
               CASE WHEN r.scenario IN ('dna_rebooked', 'am_restarted') THEN r.r ELSE r.s END AS exp_start,
               CASE r.scenario WHEN 'stop_admitted' THEN '30' WHEN 'stop_treated' THEN '30'
                               WHEN 'stop_discharged' THEN '34' WHEN 'stop_active_monitoring' THEN '32'
                               WHEN 'stop_declined' THEN '35' WHEN 'stop_died' THEN '36'
                               WHEN 'nullified' THEN '33' END AS exp_status,
               r.scenario = 'open_dta' AS exp_dta,
               num_nonnulls(r.d01, r.d02, r.d03, r.d04, r.d05, r.d06, r.d07, r.d08, r.d09,
                            r.d10, r.d11, r.d12, r.d13)
                   + CASE WHEN r.d06 IS NOT NULL THEN 2 ELSE 1 END AS nrows,
               num_nonnulls(r.d02, r.d04, r.d05, r.d06, r.d07, r.d08, r.d09, r.d11, r.d13) AS ncand,
               array_remove(ARRAY[
                   CASE WHEN r.d02 IS NOT NULL THEN 2 END, CASE WHEN r.d04 IS NOT NULL THEN 4 END,
                   CASE WHEN r.d05 IS NOT NULL THEN 5 END, CASE WHEN r.d07 IS NOT NULL THEN 7 END,
                   CASE WHEN r.d08 IS NOT NULL THEN 8 END, CASE WHEN r.d09 IS NOT NULL THEN 9 END,
                   CASE WHEN r.d11 IS NOT NULL THEN 11 END, CASE WHEN r.d13 IS NOT NULL THEN 13 END,
                   CASE WHEN r.d06 IS NOT NULL THEN 100 END,
                   CASE WHEN ptl_synth.u(r.true_id * 64 + 11, v_sw) < 0.15 THEN 200 END], NULL) AS cand
        FROM rec r
        JOIN pg_temp.synth_site st ON st.site_idx = r.site_idx
        CROSS JOIN LATERAL (SELECT ptl_synth.u(r.true_id * 64 + 1, v_sw) AS v) x
        OFFSET 0),
    k2 AS (
        -- PPIDs: the first trust bases its PPIDs on the UBRN when there is
        -- one (issuer X09, the 12 digits padded to 20); otherwise the trust
        -- issues its own (trust code and 9 digits, a bijection of the
        -- referral number).  Malformed faults: see above.
        SELECT k1.*,
               CASE WHEN k1.role <> 'duplicate' AND k1.a_trust = 0 AND k1.ubrn_present THEN 'X09'
                    ELSE k1.issuer_trust END AS ppid_issuer,
               CASE WHEN k1.exp_outcome IN ('stopped_admitted', 'stopped_non_admitted', 'nullified') THEN k1.e END AS exp_stop,
               CASE WHEN k1.role <> 'original' OR k1.dup_source OR k1.scenario = 'transferred' THEN NULL
                    WHEN ptl_synth.u(k1.true_id * 64 + 10, v_sw) < v_r_date * v_f_scale * k1.ncand THEN 'malformed_date'
                    WHEN ptl_synth.u(k1.true_id * 64 + 10, v_sw) < (v_r_date + v_r_code) * v_f_scale * k1.ncand
                    THEN 'malformed_code'
               END AS fk
        FROM k1
        OFFSET 0),
    k3 AS (
        SELECT k2.*,
               CASE WHEN k2.role = 'duplicate'
                    THEN k2.issuer_trust || lpad((((900000000 + k2.true_id) * 387420489 + v_ppid_salt) % 1000000000)::text, 9, '0')
                    WHEN k2.ppid_issuer = 'X09' THEN lpad(k2.ubrn, 20, '0')
                    ELSE k2.issuer_trust || lpad(((k2.true_id * 387420489 + v_ppid_salt) % 1000000000)::text, 9, '0') END AS ppid,
               -- what a duplicate record duplicates: the original's PPID
               CASE WHEN k2.role = 'duplicate' THEN
                   CASE WHEN k2.a_trust = 0 AND k2.ubrn_present THEN 'X09' ELSE k2.issuer_trust END END AS dup_of_issuer,
               CASE WHEN k2.role = 'duplicate' THEN
                   CASE WHEN k2.a_trust = 0 AND k2.ubrn_present THEN lpad(k2.ubrn, 20, '0')
                        ELSE k2.issuer_trust || lpad(((k2.true_id * 387420489 + v_ppid_salt) % 1000000000)::text, 9, '0') END
               END AS dup_of_ppid,
               CASE WHEN k2.exp_outcome = 'waiting' THEN v_census - k2.exp_start
                    WHEN k2.exp_outcome IN ('stopped_admitted', 'stopped_non_admitted') THEN k2.exp_stop - k2.exp_start
               END AS exp_days,
               CASE WHEN k2.fk IS NOT NULL AND cardinality(k2.cand) > 0
                    THEN k2.cand[1 + floor(ptl_synth.u(k2.true_id * 64 + 12, v_sw) * cardinality(k2.cand))::int] END AS f_target
        FROM k2
        OFFSET 0),
    k4 AS (
        SELECT k3.*,
               CASE WHEN k3.f_target IS NOT NULL THEN k3.fk END AS f_kind,
               CASE WHEN k3.f_target IS NULL THEN NULL
                    WHEN k3.fk = 'malformed_date' THEN
                        CASE k3.f_target WHEN 100 THEN 'decision_to_admit' WHEN 200 THEN 'referral_received'
                                         ELSE 'event_date' END
                    WHEN k3.f_target = 100 THEN 'clinical_priority'
                    WHEN k3.f_target = 200 THEN
                        CASE WHEN ptl_synth.u(k3.true_id * 64 + 13, v_sw) < 0.5 THEN 'treatment_function'
                             ELSE 'referral_priority' END
                    WHEN k3.f_target IN (4, 5, 11, 13) THEN
                        CASE WHEN ptl_synth.u(k3.true_id * 64 + 13, v_sw) < 0.5 THEN 'rtt_status'
                             WHEN ptl_synth.u(k3.true_id * 64 + 13, v_sw) < 0.75 THEN 'kind'
                             ELSE 'treatment_function' END
                    ELSE CASE WHEN ptl_synth.u(k3.true_id * 64 + 13, v_sw) < 0.5 THEN 'kind'
                              ELSE 'treatment_function' END
               END AS f_col
        FROM k3
        OFFSET 0)
    SELECT k4.*,
           CASE WHEN k4.f_kind = 'malformed_date' THEN v_bad_dates[1 + floor(ptl_synth.u(k4.true_id * 64 + 14, v_sw) * 5)::int]
                WHEN k4.f_col = 'clinical_priority' THEN CASE WHEN ptl_synth.u(k4.true_id * 64 + 14, v_sw) < 0.5 THEN 'P7' ELSE 'P1' END
                WHEN k4.f_col = 'rtt_status' THEN CASE WHEN ptl_synth.u(k4.true_id * 64 + 14, v_sw) < 0.5 THEN '13' ELSE '3O' END
                WHEN k4.f_col = 'kind' THEN 'appointment'
                WHEN k4.f_col = 'treatment_function' THEN '999'
                WHEN k4.f_col = 'referral_priority' THEN '4'
           END AS f_bad
    FROM k4;
    -- The extracts are written in (site, record) order: through this index.
    CREATE INDEX ON pg_temp.synth_plan (site_idx, plan_id);
    ANALYZE pg_temp.synth_plan;

    -- 7. Patient records: one per person and site -----------------------------
    -- A record reached by a referral that was sent to another site on
    -- purpose is a second record of the person made with typing slips
    -- (cross_site_duplicate_patient): given name transposed, a letter
    -- dropped or a nickname; family name transposed or a letter dropped;
    -- house number changed or street name slipped; NHS number left out 30%
    -- of the time.  Other records may carry an invalid NHS number (wrong
    -- check digit, nine digits, a letter O for a digit), an empty one, or an
    -- invalid sex code (only on records whose pathways carry no other fault).
    CREATE TEMP TABLE synth_rec ON COMMIT DROP AS
    WITH g AS (
        SELECT p.person_id, p.site_idx, bool_or(p.forced) AS typo_dup, count(*) AS n_pathways,
               bool_and(p.role = 'original' AND p.f_kind IS NULL AND NOT p.dup_source
                        AND p.scenario <> 'transferred') AS clean
        FROM pg_temp.synth_plan p
        GROUP BY p.site_idx, p.person_id
        ORDER BY p.site_idx, p.person_id
        OFFSET 0),
    c1 AS (
        SELECT g.*, st.site_code, st.org_code, st.source_system, st.batch_id, st.dmy, st.nhs_spaced,
               st.upper_family, st.lpid_style,
               ptl_synth.local_patient_id(st.lpid_style, st.site_code, g.person_id, st.lpid_salt) AS local_patient_id,
               pe.nhs_number, pe.given_name, pe.family_name, pe.date_of_birth, pe.date_of_death, pe.sex,
               pe.postcode, pe.address_line_1, pe.ethnic_category, pe.lsoa_code, pe.gp_practice_code,
               pe.commissioner_code,
               g.person_id * 4096 + g.site_idx AS rk
        FROM g
        JOIN pg_temp.synth_site st ON st.site_idx = g.site_idx
        JOIN ptl_synth.person pe ON pe.person_id = g.person_id
        OFFSET 0),
    c2 AS (
        SELECT c1.*,
               CASE WHEN c1.typo_dup THEN 'cross_site_duplicate_patient'
                    WHEN ptl_synth.u(c1.rk * 16 + 1, v_sr) < v_r_inv THEN 'invalid_nhs_number'
                    WHEN ptl_synth.u(c1.rk * 16 + 1, v_sr) < v_r_inv + v_r_miss THEN 'missing_nhs_number'
                    WHEN ptl_synth.u(c1.rk * 16 + 1, v_sr) < v_r_inv + v_r_miss + v_r_code AND c1.clean
                    THEN 'malformed_code' END AS f_kind,
               CASE WHEN ptl_synth.u(c1.rk * 16 + 4, v_sr) < 0.40 THEN 0
                    WHEN ptl_synth.u(c1.rk * 16 + 4, v_sr) < 0.60 THEN 1
                    WHEN ptl_synth.u(c1.rk * 16 + 4, v_sr) < 0.75 THEN 2 ELSE 3 END AS gk,
               CASE WHEN ptl_synth.u(c1.rk * 16 + 6, v_sr) < 0.50 THEN 0
                    WHEN ptl_synth.u(c1.rk * 16 + 6, v_sr) < 0.75 THEN 1 ELSE 2 END AS fk0,
               CASE WHEN ptl_synth.u(c1.rk * 16 + 8, v_sr) < 0.50 THEN 0
                    WHEN ptl_synth.u(c1.rk * 16 + 8, v_sr) < 0.85 THEN 1 ELSE 2 END AS ak,
               CASE WHEN c1.typo_dup THEN v_nick[array_position(v_given_all, c1.given_name)] END AS nick,
               ptl_synth.u(c1.rk * 16 + 2, v_sr) AS r2,
               c1.typo_dup AND ptl_synth.u(c1.rk * 16 + 10, v_sr) < 0.3 AS nhs_drop,
               2 + floor(ptl_synth.u(c1.rk * 16 + 5, v_sr) * (length(c1.given_name) - 2))::int AS gpos,
               2 + floor(ptl_synth.u(c1.rk * 16 + 7, v_sr) * (length(c1.family_name) - 2))::int AS fpos,
               split_part(c1.address_line_1, ' ', 1) AS house
        FROM c1
        OFFSET 0),
    c3 AS (
        SELECT c2.*,
               CASE WHEN c2.gk = 0 AND c2.fk0 = 0 AND c2.ak = 0 THEN 1 ELSE c2.fk0 END AS fk
        FROM c2
        OFFSET 0),
    c4 AS (
        SELECT c3.*,
               CASE WHEN NOT c3.typo_dup OR c3.gk = 0 THEN c3.given_name
                    WHEN c3.gk = 3 AND c3.nick IS NOT NULL THEN c3.nick
                    WHEN c3.gk = 2
                    THEN ptl_synth.drop_at(c3.given_name, 2 + floor(ptl_synth.u(c3.rk * 16 + 5, v_sr) * (length(c3.given_name) - 1))::int)
                    WHEN ptl_synth.transpose_at(c3.given_name, c3.gpos) = c3.given_name
                    THEN ptl_synth.drop_at(c3.given_name, c3.gpos)
                    ELSE ptl_synth.transpose_at(c3.given_name, c3.gpos) END AS given_sent,
               CASE WHEN NOT c3.typo_dup OR c3.fk = 0 THEN c3.family_name
                    WHEN c3.fk = 2
                    THEN ptl_synth.drop_at(c3.family_name, 2 + floor(ptl_synth.u(c3.rk * 16 + 7, v_sr) * (length(c3.family_name) - 1))::int)
                    WHEN ptl_synth.transpose_at(c3.family_name, c3.fpos) = c3.family_name
                    THEN ptl_synth.drop_at(c3.family_name, c3.fpos)
                    ELSE ptl_synth.transpose_at(c3.family_name, c3.fpos) END AS family_new,
               CASE WHEN NOT c3.typo_dup OR c3.ak = 0 THEN c3.address_line_1
                    WHEN c3.ak = 1
                    THEN (c3.house::int + 1 + floor(ptl_synth.u(c3.rk * 16 + 9, v_sr) * 9)::int)::text
                         || substr(c3.address_line_1, length(c3.house) + 1)
                    WHEN ptl_synth.transpose_at(c3.address_line_1, length(c3.house) + 3) = c3.address_line_1
                    THEN ptl_synth.drop_at(c3.address_line_1, length(c3.house) + 3)
                    ELSE ptl_synth.transpose_at(c3.address_line_1, length(c3.house) + 3) END AS addr_sent,
               CASE c3.f_kind
                   WHEN 'invalid_nhs_number' THEN
                       CASE WHEN c3.r2 < 0.4
                            THEN ptl_synth.format_nhs(substr(c3.nhs_number, 1, 9)
                                     || ((substr(c3.nhs_number, 10, 1)::int + 1
                                          + floor(ptl_synth.u(c3.rk * 16 + 3, v_sr) * 9)::int) % 10)::text, c3.nhs_spaced)
                            WHEN c3.r2 < 0.7 THEN substr(c3.nhs_number, 1, 9)
                            ELSE ptl_synth.format_nhs(overlay(c3.nhs_number placing 'O'
                                     from 2 + floor(ptl_synth.u(c3.rk * 16 + 3, v_sr) * 8)::int for 1), c3.nhs_spaced) END
                   WHEN 'missing_nhs_number' THEN ''
                   ELSE CASE WHEN c3.nhs_drop THEN '' ELSE ptl_synth.format_nhs(c3.nhs_number, c3.nhs_spaced) END
               END AS nhs_sent
        FROM c3
        OFFSET 0),
    c5 AS (
        SELECT c4.*,
               CASE WHEN c4.upper_family THEN upper(c4.family_new) ELSE c4.family_new END AS family_sent
        FROM c4
        OFFSET 0)
    SELECT c.person_id, c.site_idx, c.typo_dup, c.n_pathways,
           c.site_code, c.org_code, c.source_system, c.batch_id, c.local_patient_id, c.f_kind,
           c.nhs_sent, c.given_sent, c.family_sent,
           ptl_synth.fmt_date(c.date_of_birth, c.dmy) AS dob_sent,
           ptl_synth.fmt_date(c.date_of_death, c.dmy) AS dod_sent,
           CASE WHEN c.f_kind = 'malformed_code' THEN 'M' ELSE c.sex END AS sex_sent,
           CASE WHEN c.lpid_style = 3 THEN replace(c.postcode, ' ', '') ELSE c.postcode END AS postcode_sent,
           c.addr_sent, c.ethnic_category, c.lsoa_code, c.gp_practice_code, c.commissioner_code,
           CASE c.f_kind
               WHEN 'cross_site_duplicate_patient' THEN array_to_string(ARRAY[
                   CASE WHEN c.given_sent <> c.given_name THEN 'given_name' END,
                   CASE WHEN c.family_new <> c.family_name THEN 'family_name' END,
                   CASE WHEN c.addr_sent <> c.address_line_1 THEN 'address_line_1' END,
                   CASE WHEN c.nhs_drop THEN 'nhs_number' END], ',')
               WHEN 'malformed_code' THEN 'sex'
               WHEN 'invalid_nhs_number' THEN 'nhs_number'
               WHEN 'missing_nhs_number' THEN 'nhs_number' END AS f_cols,
           CASE c.f_kind
               WHEN 'cross_site_duplicate_patient' THEN array_to_string(ARRAY[
                   CASE WHEN c.given_sent <> c.given_name THEN c.given_sent END,
                   CASE WHEN c.family_new <> c.family_name THEN c.family_sent END,
                   CASE WHEN c.addr_sent <> c.address_line_1 THEN c.addr_sent END,
                   CASE WHEN c.nhs_drop THEN '' END], ' | ')
               WHEN 'malformed_code' THEN 'M'
               WHEN 'invalid_nhs_number' THEN c.nhs_sent
               WHEN 'missing_nhs_number' THEN c.nhs_sent END AS f_bad,
           CASE c.f_kind
               WHEN 'cross_site_duplicate_patient' THEN array_to_string(ARRAY[
                   CASE WHEN c.given_sent <> c.given_name THEN c.given_name END,
                   CASE WHEN c.family_new <> c.family_name THEN c.family_name END,
                   CASE WHEN c.addr_sent <> c.address_line_1 THEN c.address_line_1 END,
                   CASE WHEN c.nhs_drop THEN c.nhs_number END], ' | ')
               WHEN 'malformed_code' THEN c.sex
               WHEN 'invalid_nhs_number' THEN c.nhs_number
               WHEN 'missing_nhs_number' THEN c.nhs_number END AS f_true,
           CASE c.f_kind
               WHEN 'invalid_nhs_number' THEN 'invalid_nhs_number'
               WHEN 'malformed_code' THEN 'invalid_code' END AS f_reason,
           CASE c.f_kind
               WHEN 'cross_site_duplicate_patient' THEN jsonb_strip_nulls(jsonb_build_object(
                   'given_name', CASE WHEN c.given_sent = c.given_name THEN NULL
                                      WHEN c.gk = 3 AND c.nick IS NOT NULL THEN 'nickname'
                                      WHEN c.gk = 2 THEN 'dropped letter' ELSE 'transposition' END,
                   'family_name', CASE WHEN c.family_new = c.family_name THEN NULL
                                       WHEN c.fk = 2 THEN 'dropped letter' ELSE 'transposition' END,
                   'address_line_1', CASE WHEN c.addr_sent = c.address_line_1 THEN NULL
                                          WHEN c.ak = 1 THEN 'house number changed' ELSE 'street name slip' END,
                   'nhs_number', CASE WHEN c.nhs_drop THEN 'missing' END))
               WHEN 'invalid_nhs_number' THEN jsonb_build_object('variant',
                   CASE WHEN c.r2 < 0.4 THEN 'wrong check digit' WHEN c.r2 < 0.7 THEN 'nine digits'
                        ELSE 'letter for a digit' END)
               WHEN 'malformed_code' THEN jsonb_build_object('pathways_quarantined_with_it', c.n_pathways)
           END AS f_detail
    FROM c5 c;
    CREATE INDEX ON pg_temp.synth_rec (site_idx, person_id);
    ANALYZE pg_temp.synth_rec;

    -- 8. The extracts ------------------------------------------------------------
    INSERT INTO ptl_stage.patient (batch_id, local_patient_id, nhs_number, given_name, family_name,
                                   date_of_birth, date_of_death, sex, postcode, address_line_1,
                                   ethnic_category, lsoa_code, gp_practice_code, commissioner_code)
    SELECT c.batch_id, c.local_patient_id, c.nhs_sent, c.given_sent, c.family_sent,
           c.dob_sent, c.dod_sent, c.sex_sent, c.postcode_sent, c.addr_sent,
           c.ethnic_category, c.lsoa_code, c.gp_practice_code, c.commissioner_code
    FROM pg_temp.synth_rec c
    ORDER BY c.site_idx, c.person_id;

    INSERT INTO ptl_stage.pathway (batch_id, local_patient_id, ppid, ppid_issuer, ubrn, site_code,
                                   treatment_function, referral_priority, referral_received,
                                   commissioner_code, consultant_code)
    SELECT p.batch_id, p.local_patient_id, p.ppid, p.ppid_issuer, p.ubrn, p.site_code,
           CASE WHEN p.f_target = 200 AND p.f_col = 'treatment_function' THEN p.f_bad ELSE p.tfc END,
           CASE WHEN p.f_target = 200 AND p.f_col = 'referral_priority' THEN p.f_bad ELSE p.priority END,
           CASE WHEN p.f_target = 200 AND p.f_col = 'referral_received' THEN p.f_bad
                ELSE ptl_synth.fmt_date(p.referral_received, p.dmy) END,
           p.commissioner, p.consultant
    FROM pg_temp.synth_plan p
    ORDER BY p.site_idx, p.plan_id;
    -- Triage (author's judgement): a clinician downgrades 8% of urgent
    -- referrals to routine and upgrades 3% of routine ones to urgent.  The
    -- extract has the column from ptl 0.4.0 (the upgrade test generates
    -- into older releases).
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = 'ptl_stage.pathway'::regclass AND a.attname = 'triage_priority'
                 AND NOT a.attisdropped) THEN
        EXECUTE $triage$
            UPDATE ptl_stage.pathway s
            SET triage_priority = CASE p.priority WHEN '2' THEN '1' ELSE '2' END
            FROM pg_temp.synth_plan p
            WHERE s.batch_id = p.batch_id AND s.ppid_issuer = p.ppid_issuer AND s.ppid = p.ppid
              AND ((p.priority = '2' AND ptl_synth.u(p.true_id * 64 + 58, $1) < 0.08)
                   OR (p.priority = '1' AND ptl_synth.u(p.true_id * 64 + 58, $1) < 0.03))$triage$
        USING v_sp;
    END IF;

    INSERT INTO ptl_stage.pathway_event (batch_id, ppid_issuer, ppid, event_ref, event_date, kind,
                                         rtt_status, ref_date, site_code, treatment_function)
    SELECT p.batch_id, p.ppid_issuer, p.ppid, ptl_synth.event_ref(p.plan_id, e.slot),
           CASE WHEN p.f_target = e.slot AND p.f_col = 'event_date' THEN p.f_bad
                ELSE ptl_synth.fmt_date(e.d, p.dmy) END,
           CASE WHEN p.f_target = e.slot AND p.f_col = 'kind' THEN p.f_bad
                ELSE ptl_synth.slot_kind(e.slot, p.role, p.scenario, p.provider_cancel, p.dna05) END,
           CASE WHEN p.f_target = e.slot AND p.f_col = 'rtt_status' THEN p.f_bad
                ELSE ptl_synth.slot_status(e.slot, p.role, p.scenario) END,
           ptl_synth.fmt_date(e.rd, p.dmy),
           p.site_code,
           CASE WHEN p.f_target = e.slot AND p.f_col = 'treatment_function' THEN p.f_bad ELSE p.tfc END
    FROM pg_temp.synth_plan p
    CROSS JOIN LATERAL (VALUES (1, p.d01, p.r01), (2, p.d02, NULL::date), (3, p.d03, NULL), (4, p.d04, NULL),
                               (5, p.d05, NULL), (6, p.d06, NULL), (7, p.d07, p.r07), (8, p.d08, p.d08),
                               (9, p.d09, p.r09), (10, p.d10, NULL), (11, p.d11, NULL), (12, p.d12, NULL),
                               (13, p.d13, NULL)) AS e (slot, d, rd)
    WHERE e.d IS NOT NULL
    ORDER BY p.site_idx, p.plan_id, e.slot;

    -- Procedures by line, as cumulative ranges.
    CREATE TEMP TABLE synth_proc ON COMMIT DROP AS
    SELECT x.line, x.opcs, x.description, x.intended_management, x.minutes,
           coalesce(x.before, 0) / x.total AS lo,
           CASE WHEN x.n = x.cnt THEN 2.0 ELSE x.upto / x.total END AS hi
    FROM (SELECT m.*,
                 sum(m.weight) OVER (PARTITION BY m.line ORDER BY m.opcs ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before,
                 sum(m.weight) OVER (PARTITION BY m.line ORDER BY m.opcs ROWS UNBOUNDED PRECEDING) AS upto,
                 sum(m.weight) OVER (PARTITION BY m.line) AS total,
                 row_number() OVER (PARTITION BY m.line ORDER BY m.opcs) AS n,
                 count(*) OVER (PARTITION BY m.line) AS cnt
          FROM ptl_synth.procedure_mix m) x;

    -- Intended management: the procedure's usual one, switched 8% of the
    -- time; 70% day case when no procedure is recorded.  Expected duration:
    -- the procedure's typical minutes +-25%, in steps of 5.
    INSERT INTO ptl_stage.waiting_list_entry (batch_id, ppid_issuer, ppid, entry_ref, procedure_code,
                                              procedure_description, intended_management, clinical_priority,
                                              decision_to_admit, expected_duration_minutes, consultant_code,
                                              tci_date, removed_date, removal_reason, site_code)
    SELECT p.batch_id, p.ppid_issuer, p.ppid, ptl_synth.entry_ref(p.plan_id), pr.opcs, pr.description,
           CASE WHEN pr.opcs IS NULL THEN CASE WHEN w.w2 < 0.7 THEN '2' ELSE '1' END
                WHEN w.w3 < 0.08 THEN CASE pr.intended_management WHEN '1' THEN '2' ELSE '1' END
                ELSE pr.intended_management END,
           CASE WHEN p.f_target = 100 AND p.f_col = 'clinical_priority' THEN p.f_bad ELSE p.wl_prio END,
           CASE WHEN p.f_target = 100 AND p.f_col = 'decision_to_admit' THEN p.f_bad
                ELSE ptl_synth.fmt_date(p.d06, p.dmy) END,
           CASE WHEN pr.opcs IS NOT NULL
                THEN (5 * round(pr.minutes * (0.75 + 0.5 * w.w4) / 5))::int::text END,
           p.consultant,
           ptl_synth.fmt_date(p.wl_tci, p.dmy),
           ptl_synth.fmt_date(p.wl_removed, p.dmy),
           p.wl_reason,
           p.site_code
    FROM pg_temp.synth_plan p
    CROSS JOIN LATERAL (SELECT ptl_synth.u(p.plan_id * 64 + 2, v_sw) AS w1, ptl_synth.u(p.plan_id * 64 + 3, v_sw) AS w2,
                               ptl_synth.u(p.plan_id * 64 + 4, v_sw) AS w3, ptl_synth.u(p.plan_id * 64 + 5, v_sw) AS w4) w
    LEFT JOIN pg_temp.synth_proc pr ON pr.line = p.line AND w.w1 >= pr.lo AND w.w1 < pr.hi
    WHERE p.d06 IS NOT NULL
    ORDER BY p.site_idx, p.plan_id;

    -- 9. Truth ----------------------------------------------------------------
    INSERT INTO ptl_synth.patient_record (org_code, source_system, local_patient_id, person_id,
                                          site_code, batch_id, nhs_number_sent, typo_duplicate)
    SELECT c.org_code, c.source_system, c.local_patient_id, c.person_id, c.site_code, c.batch_id,
           c.nhs_sent, c.typo_dup
    FROM pg_temp.synth_rec c;

    INSERT INTO ptl_synth.pathway_truth (org_code, ppid_issuer, ppid, true_pathway_id, record_role, scenario,
                                         site_code, batch_id, local_patient_id, person_id, treatment_function,
                                         referral_priority, referral_received, duplicate_of, transferred_from,
                                         expected_clock_start, expected_clock_stop, expected_stop_status,
                                         expected_outcome, expected_dta, expected_days, faulted)
    SELECT st.org_code, p.ppid_issuer, p.ppid, p.true_id, p.role, p.scenario,
           p.site_code, p.batch_id, p.local_patient_id, p.person_id, p.tfc,
           p.priority, p.referral_received, p.dup_of_ppid, p.transferred_from,
           p.exp_start, p.exp_stop, p.exp_status, p.exp_outcome, p.exp_dta, p.exp_days,
           coalesce(p.f_target = 200 AND ptl_synth.policy_quarantines('pathway', p.f_col, p.f_bad), false)
    FROM pg_temp.synth_plan p
    JOIN pg_temp.synth_site st ON st.site_idx = p.site_idx;
    -- A patient row the policy quarantines takes its pathways with it.
    UPDATE ptl_synth.pathway_truth t SET faulted = true
      FROM pg_temp.synth_rec c
     WHERE c.f_kind = 'malformed_code' AND ptl_synth.policy_quarantines('patient', c.f_cols, c.f_bad)
       AND t.person_id = c.person_id AND t.site_code = c.site_code;

    INSERT INTO ptl_synth.injected_fault (fault_id, fault_kind, extract, batch_id, site_code, local_patient_id,
                                          ppid_issuer, ppid, event_ref, entry_ref, column_name, bad_value,
                                          true_value, expected_reason, person_id, true_pathway_id, detail)
    SELECT row_number() OVER (ORDER BY x.site_idx, x.ext_ord, x.k1, x.k2),
           x.fault_kind, x.extract, x.batch_id, x.site_code, x.local_patient_id, x.ppid_issuer, x.ppid,
           x.event_ref, x.entry_ref, x.column_name, x.bad_value, x.true_value, x.expected_reason,
           x.person_id, x.true_pathway_id, x.detail
    FROM (
        SELECT c.site_idx, 1 AS ext_ord, c.person_id AS k1, 0 AS k2,
               c.f_kind AS fault_kind, 'patient' AS extract, c.batch_id, c.site_code, c.local_patient_id,
               NULL::text AS ppid_issuer, NULL::text AS ppid, NULL::text AS event_ref, NULL::text AS entry_ref,
               c.f_cols AS column_name, c.f_bad AS bad_value, c.f_true AS true_value, c.f_reason AS expected_reason,
               c.person_id, NULL::bigint AS true_pathway_id, c.f_detail AS detail
        FROM pg_temp.synth_rec c
        WHERE c.f_kind IS NOT NULL
        UNION ALL
        SELECT p.site_idx, 2, p.plan_id, 0,
               'duplicate_pathway', 'pathway', p.batch_id, p.site_code, p.local_patient_id,
               p.ppid_issuer, p.ppid, NULL, NULL, NULL, NULL, NULL, NULL,
               p.person_id, p.true_id,
               jsonb_build_object('duplicate_of_ppid_issuer', p.dup_of_issuer, 'duplicate_of_ppid', p.dup_of_ppid,
                                  'same_ubrn', p.ubrn IS NOT NULL)
        FROM pg_temp.synth_plan p
        WHERE p.role = 'duplicate'
        UNION ALL
        SELECT p.site_idx, CASE p.f_target WHEN 200 THEN 2 WHEN 100 THEN 4 ELSE 3 END, p.plan_id, p.f_target,
               p.f_kind,
               CASE p.f_target WHEN 200 THEN 'pathway' WHEN 100 THEN 'waiting_list_entry' ELSE 'pathway_event' END,
               p.batch_id, p.site_code, p.local_patient_id, p.ppid_issuer, p.ppid,
               CASE WHEN p.f_target < 100 THEN ptl_synth.event_ref(p.plan_id, p.f_target) END,
               CASE WHEN p.f_target = 100 THEN ptl_synth.entry_ref(p.plan_id) END,
               p.f_col, p.f_bad,
               CASE p.f_col
                   WHEN 'event_date' THEN ptl_synth.fmt_date(
                       CASE p.f_target WHEN 2 THEN p.d02 WHEN 4 THEN p.d04 WHEN 5 THEN p.d05 WHEN 7 THEN p.d07
                                       WHEN 8 THEN p.d08 WHEN 9 THEN p.d09 WHEN 11 THEN p.d11 WHEN 13 THEN p.d13 END,
                       p.dmy)
                   WHEN 'kind' THEN ptl_synth.slot_kind(p.f_target, p.role, p.scenario, p.provider_cancel, p.dna05)
                   WHEN 'rtt_status' THEN ptl_synth.slot_status(p.f_target, p.role, p.scenario)
                   WHEN 'treatment_function' THEN p.tfc
                   WHEN 'decision_to_admit' THEN ptl_synth.fmt_date(p.d06, p.dmy)
                   WHEN 'clinical_priority' THEN p.wl_prio
                   WHEN 'referral_received' THEN ptl_synth.fmt_date(p.referral_received, p.dmy)
                   WHEN 'referral_priority' THEN p.priority
               END,
               CASE WHEN p.f_kind = 'malformed_date' AND p.f_bad = '' THEN 'missing_required'
                    WHEN p.f_kind = 'malformed_date' THEN 'invalid_date'
                    ELSE 'invalid_code' END,
               p.person_id, p.true_id,
               CASE WHEN p.f_target = 200
                    THEN jsonb_build_object('rows_quarantined_with_it', p.nrows - 1,
                                            'their_reason', 'parent_rejected') END
        FROM pg_temp.synth_plan p
        WHERE p.f_kind IS NOT NULL) x;

    INSERT INTO ptl_synth.run (referrals, seed_value, census_date, trust_count, sites_per_trust,
                               effective_rates, persons, batch_ids)
    SELECT v_n, seed, v_census, v_trusts, v_spt, v_rates, v_np, array_agg(s.batch_id ORDER BY s.site_idx)
    FROM pg_temp.synth_site s;

    RETURN QUERY SELECT s.batch_id FROM pg_temp.synth_site s ORDER BY s.site_idx;

    DROP TABLE pg_temp.synth_pb, pg_temp.synth_plan, pg_temp.synth_rec, pg_temp.synth_multi,
               pg_temp.synth_proc, pg_temp.synth_site;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.generate(bigint, int, date, int, int, jsonb) IS
    'Generates one synthetic ICS: reference rows in ptl (if missing), one staged batch per site in ptl_stage (not loaded), and the truth in ptl_synth (replaced). Same arguments, same staging rows. Returns the batch ids, in site order.';

-- ---------------------------------------------------------------------------
-- Helpers for tests and clean-up
-- ---------------------------------------------------------------------------

-- A digest of the staged rows of some batches, per extract, independent of
-- batch numbers and row numbers (which differ between calls): each row is
-- its values without batch_id and row_no, prefixed by the position of its
-- batch in batch_ids, in row order.
CREATE FUNCTION ptl_synth.staging_digest(batch_ids bigint[])
RETURNS TABLE (extract_name text, row_count bigint, digest text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'patient', count(*),
           md5(string_agg(md5(array_position(batch_ids, s.batch_id)::text || ':'
                              || (to_jsonb(s) - 'batch_id' - 'row_no')::text), ''
                          ORDER BY array_position(batch_ids, s.batch_id), s.row_no))
    FROM ptl_stage.patient s WHERE s.batch_id = ANY (batch_ids)
    UNION ALL
    SELECT 'pathway', count(*),
           md5(string_agg(md5(array_position(batch_ids, s.batch_id)::text || ':'
                              || (to_jsonb(s) - 'batch_id' - 'row_no')::text), ''
                          ORDER BY array_position(batch_ids, s.batch_id), s.row_no))
    FROM ptl_stage.pathway s WHERE s.batch_id = ANY (batch_ids)
    UNION ALL
    SELECT 'pathway_event', count(*),
           md5(string_agg(md5(array_position(batch_ids, s.batch_id)::text || ':'
                              || (to_jsonb(s) - 'batch_id' - 'row_no')::text), ''
                          ORDER BY array_position(batch_ids, s.batch_id), s.row_no))
    FROM ptl_stage.pathway_event s WHERE s.batch_id = ANY (batch_ids)
    UNION ALL
    SELECT 'waiting_list_entry', count(*),
           md5(string_agg(md5(array_position(batch_ids, s.batch_id)::text || ':'
                              || (to_jsonb(s) - 'batch_id' - 'row_no')::text), ''
                          ORDER BY array_position(batch_ids, s.batch_id), s.row_no))
    FROM ptl_stage.waiting_list_entry s WHERE s.batch_id = ANY (batch_ids);
END;
COMMENT ON FUNCTION ptl_synth.staging_digest(bigint[]) IS
    'Row count and md5 digest of the staged rows of the given batches per extract, ignoring batch and row numbers: equal digests mean byte-identical extracts in the same order';

-- Removes everything generate() put into ptl: the staged rows of its
-- batches (and the load bookkeeping of those batches), the batches, and the
-- reference rows it created; then empties the truth.  Loaded canonical rows
-- are not touched: if a batch was loaded, its rows keep the batch (and the
-- reference rows) alive and purge() says so.
CREATE FUNCTION ptl_synth.purge() RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_batches bigint[] := ARRAY(SELECT batch_id FROM ptl_synth.generated_batch ORDER BY batch_id);
BEGIN
    DELETE FROM ptl_stage.waiting_list_entry WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl_stage.pathway_event WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl_stage.pathway WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl_stage.patient WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl.rejected_row WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl.load_warning WHERE batch_id = ANY (v_batches);
    DELETE FROM ptl.batch_extract WHERE batch_id = ANY (v_batches);
    BEGIN
        DELETE FROM ptl.batch WHERE batch_id = ANY (v_batches);
        DELETE FROM ptl.area_deprivation
         WHERE lsoa_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'area_deprivation');
        DELETE FROM ptl.commissioner
         WHERE commissioner_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'commissioner')
           AND commissioner_kind <> 'icb';
        DELETE FROM ptl.commissioner
         WHERE commissioner_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'commissioner');
        DELETE FROM ptl.site
         WHERE site_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'site');
        DELETE FROM ptl.organisation
         WHERE org_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'organisation')
           AND org_kind <> 'ics';
        DELETE FROM ptl.organisation
         WHERE org_code IN (SELECT key_value FROM ptl_synth.created_reference WHERE table_name = 'organisation');
    EXCEPTION WHEN foreign_key_violation THEN
        RAISE EXCEPTION 'synthetic batches or reference rows are still in use: %', SQLERRM
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'The synthetic batches were loaded (or other rows refer to the synthetic organisations); remove the loaded rows first, or use a scratch database.';
    END;
    TRUNCATE ptl_synth.injected_fault, ptl_synth.pathway_truth, ptl_synth.patient_record,
             ptl_synth.person, ptl_synth.run, ptl_synth.generated_batch, ptl_synth.created_reference,
             ptl_synth.link_world_fault, ptl_synth.link_world_relative;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.purge() IS
    'Removes the staged rows, batches and reference rows generate() added to ptl (unloaded batches only) and empties the truth tables';

-- The synthetic ICS's reference data as NHS England publishes reference
-- data: headerless CSV files in the ODS layouts ptl.load_reference reads
-- (src/load/reference.sql, docs/reference-data.md), so that a demonstration
-- loads its organisations by the documented path before generate() runs.
-- The codes and names are the ones generate() makes (it keeps rows that
-- are already there): the ICB QZZ (the ICS), its five Sub-ICB locations,
-- the trusts and their sites, and the GP practices the synthetic persons
-- are registered with (each under the Sub-ICB location of its first
-- area).  NHS England's specialised commissioner (13Z) and NONC are not in
-- these files; generate() adds them.
CREATE FUNCTION ptl_synth.ods_record(code text, name text, high_level text, postcode text, open_date text,
                                     close_date text DEFAULT NULL, status text DEFAULT NULL,
                                     parent text DEFAULT NULL, setting text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat_ws(',', ptl.csv_field(code), ptl.csv_field(name), 'Y99', ptl.csv_field(high_level),
                 '', '', '', '', '', ptl.csv_field(postcode), ptl.csv_field(open_date), ptl.csv_field(close_date),
                 ptl.csv_field(status), '', ptl.csv_field(parent), '', '', '', '', '', '', '0', '',
                 ptl.csv_field(CASE WHEN setting IS NOT NULL THEN parent END), '', ptl.csv_field(setting), '');
COMMENT ON FUNCTION ptl_synth.ods_record(text, text, text, text, text, text, text, text, text) IS
    'One record of an ODS organisation file (27 fields): code, name, national grouping Y99 (synthetic), high level health geography, postcode, open and close dates (CCYYMMDD), status, parent, prescribing setting';

CREATE FUNCTION ptl_synth.ods_files(trusts int DEFAULT 3, sites_per_trust int DEFAULT 2)
RETURNS TABLE (kind text, file_name text, data bytea)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_place text[] := ARRAY(SELECT n.value FROM ptl_synth.name_part n WHERE n.kind = 'place' ORDER BY n.ord);
    v_subicb text[] := ARRAY['9ZA', '9ZB', '9ZC', '9ZD', '9ZE'];
    v_nl int := 500 * trusts;
BEGIN
    IF trusts IS NULL OR trusts NOT BETWEEN 1 AND 90 THEN
        RAISE EXCEPTION 'trusts must be between 1 and 90 (got %)', trusts USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sites_per_trust IS NULL OR sites_per_trust NOT BETWEEN 1 AND 99 THEN
        RAISE EXCEPTION 'sites_per_trust must be between 1 and 99 (got %)', sites_per_trust
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT 'icb', 'icb.csv',
           convert_to(ptl_synth.ods_record('QZZ', 'Northvale and Eastmere Integrated Care Board (synthetic)', NULL,
                                           'QZ1 1AA', '20220701') || E'\r\n', 'UTF8');
    RETURN QUERY
    SELECT 'sub_icb', 'eccg.csv',
           convert_to(string_agg(ptl_synth.ods_record(s, 'NHS Northvale and Eastmere ICB - ' || s || ' (synthetic Sub-ICB location)',
                                                      'QZZ', 'QZ1 1AA', '20130401', NULL, 'A') || E'\r\n', '' ORDER BY s), 'UTF8')
    FROM unnest(v_subicb) s;
    RETURN QUERY
    SELECT 'trust', 'etr.csv',
           convert_to(string_agg(ptl_synth.ods_record(
               ptl_synth.trust_code(k),
               coalesce(v_place[k], v_place[(k - 1) % 30 + 1] || ' ' || ((k - 1) / 30 + 1))
               || CASE k % 3 WHEN 1 THEN ' Hospitals NHS Foundation Trust'
                             WHEN 2 THEN ' University Hospitals NHS Trust'
                             ELSE ' and District NHS Foundation Trust' END,
               'QZZ', 'Q' || substr('ABDEFGHJLNPRSTUWY', (k - 1) % 17 + 1, 1) || '1 1AA', '20010401') || E'\r\n', ''
               ORDER BY k), 'UTF8')
    FROM generate_series(1, trusts) k;
    RETURN QUERY
    SELECT 'trust_site', 'ets.csv',
           convert_to(string_agg(ptl_synth.ods_record(
               ptl_synth.trust_code(x.trust_idx + 1) || lpad((x.site_idx % sites_per_trust + 1)::text, 2, '0'),
               CASE WHEN x.site_idx % sites_per_trust = 0
                    THEN v_place[x.trust_idx % 30 + 1] || ' General Hospital'
                    ELSE v_place[(x.trust_idx * 7 + (x.site_idx % sites_per_trust) * 3) % 30 + 1]
                         || CASE (x.site_idx % sites_per_trust) % 3 WHEN 1 THEN ' Community Hospital'
                                                                    WHEN 2 THEN ' Treatment Centre'
                                                                    ELSE ' Hospital' END END,
               'QZZ',
               'Q' || substr('ABDEFGHJLNPRSTUWY', x.trust_idx % 17 + 1, 1)
                   || ((x.site_idx % sites_per_trust) % 20 + 1)::text || ' ' || ((x.site_idx % sites_per_trust) % 10)::text || 'HQ',
               '20010401', NULL, NULL, ptl_synth.trust_code(x.trust_idx + 1)) || E'\r\n', '' ORDER BY x.site_idx), 'UTF8')
    FROM (SELECT s AS site_idx, s / sites_per_trust AS trust_idx
          FROM generate_series(0, trusts * sites_per_trust - 1) s) x;
    -- generate(): a person in area l (1 .. 500 per trust) is registered
    -- with practice Z + (l - 1) / 12 + 1, and belongs to Sub-ICB location
    -- v_subicb[1 + (l - 1) * 5 / (500 * trusts)].
    RETURN QUERY
    SELECT 'gp_practice', 'epraccur.csv',
           convert_to(string_agg(ptl_synth.ods_record(
               'Z' || lpad(p::text, 5, '0'), 'Practice ' || p || ' (synthetic)', 'QZZ', NULL, '19900401', NULL, 'A',
               v_subicb[1 + ((p - 1) * 12 * 5) / v_nl], '4') || E'\r\n', '' ORDER BY p), 'UTF8')
    FROM generate_series(1, (v_nl - 1) / 12 + 1) p;
END
$fn$;
COMMENT ON FUNCTION ptl_synth.ods_files(int, int) IS
    'The synthetic ICS''s reference data as ODS files (icb, sub_icb = eccg.csv, trust = etr.csv, trust_site = ets.csv, gp_practice = epraccur.csv), in the order ptl.load_reference reads them: the codes and names generate() uses for the same trusts and sites_per_trust';
