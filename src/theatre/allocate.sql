-- ---------------------------------------------------------------------------
-- Theatre slot allocation: the pure core (src/theatre/allocate.c).
-- A multiple knapsack with eligibility; the rules are in allocate.c's header and
-- docs/theatre.md.
-- ---------------------------------------------------------------------------

CREATE TYPE ptl.theatre_slot AS (
    session_id          bigint,
    session_date        date,
    site_code           text,
    specialty           text,
    consultant          text,
    capacity_minutes    int,
    equipment           text[]
);
COMMENT ON TYPE ptl.theatre_slot IS
    'A theatre session offered to ptl.allocate_theatre: when, where, whose, how many minutes are free and what kit it has';
COMMENT ON COLUMN ptl.theatre_slot.session_id IS 'The session''s key (unique in one call)';
COMMENT ON COLUMN ptl.theatre_slot.session_date IS 'Date of the session';
COMMENT ON COLUMN ptl.theatre_slot.site_code IS 'Site of the theatre';
COMMENT ON COLUMN ptl.theatre_slot.specialty IS 'Specialty (treatment function code) the session belongs to';
COMMENT ON COLUMN ptl.theatre_slot.consultant IS 'Consultant who operates in it (NULL: none named)';
COMMENT ON COLUMN ptl.theatre_slot.capacity_minutes IS 'Minutes free to book (planned minutes less minutes already booked)';
COMMENT ON COLUMN ptl.theatre_slot.equipment IS 'Equipment available in the theatre that day';

CREATE TYPE ptl.theatre_case AS (
    case_id             bigint,
    specialty           text,
    consultant          text,
    site_codes          text[],
    duration_minutes    int,
    list_position       bigint,
    ready_from          date,
    ready_until         date,
    equipment           text[]
);
COMMENT ON TYPE ptl.theatre_case IS
    'A waiting-list case offered to ptl.allocate_theatre: what it needs, how long it takes, where it stands on the list and when it can be done';
COMMENT ON COLUMN ptl.theatre_case.case_id IS 'The case''s key (unique in one call)';
COMMENT ON COLUMN ptl.theatre_case.specialty IS 'Specialty (treatment function code) that must own the session';
COMMENT ON COLUMN ptl.theatre_case.consultant IS 'Named consultant (NULL: any consultant of the specialty)';
COMMENT ON COLUMN ptl.theatre_case.site_codes IS 'Sites where it may be done (NULL: any site)';
COMMENT ON COLUMN ptl.theatre_case.duration_minutes IS 'Minutes to book in theatre, excluding turnaround';
COMMENT ON COLUMN ptl.theatre_case.list_position IS 'Place on the ordered waiting list (1 = first); ties are broken by case_id';
COMMENT ON COLUMN ptl.theatre_case.ready_from IS 'First date it may be done (NULL: no limit)';
COMMENT ON COLUMN ptl.theatre_case.ready_until IS 'Last date it may be done, e.g. pre-operative assessment expiry (NULL: no limit)';
COMMENT ON COLUMN ptl.theatre_case.equipment IS 'Equipment the session must have (all of it)';

CREATE FUNCTION ptl.allocate_theatre(
    sessions ptl.theatre_slot[],
    cases ptl.theatre_case[],
    turnaround_minutes int DEFAULT 15)
RETURNS TABLE (case_id bigint, session_id bigint, start_offset_minutes int)
AS 'MODULE_PATHNAME', 'ptl_allocate_theatre'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ptl.allocate_theatre(ptl.theatre_slot[], ptl.theatre_case[], int) IS
    'Books cases into sessions they are eligible for, with turnaround between cases, never leaving a case out for a later one that took its place, and as many minutes then patients as possible; returns the booked cases with their start offset in the session';
