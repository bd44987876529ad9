-- ---------------------------------------------------------------------------
-- export, part 2: the outbound actions reconciled.  ptl's proposals (a
-- validation contact, a theatre or clinic proposal, a mutual-aid transfer;
-- the outbox is src/rtt/outbound.sql) are confirmed or contradicted by what
-- the PAS's next extracts hold, which reads the theatre and outpatient tables
-- the proposals came from: so it sits after those rooms.
-- ---------------------------------------------------------------------------

-- OUT3..OUT8: resolves the open actions against what the extracts hold.
-- Run by ptl.refresh after loading, before the clocks are computed, so a
-- withdrawn provisional event is out of the clock in the same refresh.
CREATE FUNCTION ptl.reconcile_outbound() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, ptl, pg_temp
AS $$
DECLARE
    w int := (ptl.ops_setting_in_force()).outbound_match_days;
    n bigint;
BEGIN
    IF to_regclass('pg_temp.outbound_resolution') IS NOT NULL THEN
        DROP TABLE pg_temp.outbound_resolution;
    END IF;
    CREATE TEMP TABLE outbound_resolution ON COMMIT DROP AS
    SELECT a.action_id, d.state, d.rule, d.batch_id, d.event_id, d.detail
    FROM ptl.outbound_action a
    CROSS JOIN LATERAL (
        -- OUT7: superseded by ptl itself (the booking was cancelled, or a
        -- later action of the same kind replaced it)
        SELECT 'superseded' AS state, 'OUT7' AS rule, NULL::bigint AS batch_id, NULL::bigint AS event_id,
               'the theatre booking was cancelled before the PAS recorded it' AS detail, 1 AS priority
        FROM ptl.theatre_proposal tp JOIN ptl.theatre_booking bk ON bk.booking_id = tp.booking_id
        WHERE a.action_kind = 'book_tci' AND tp.proposal_id = a.source_id AND bk.status = 'cancelled'
        UNION ALL
        SELECT 'superseded', 'OUT7', NULL, NULL, 'the appointment ptl booked was cancelled before the PAS recorded it', 1
        FROM ptl.clinic_proposal cp JOIN ptl.outpatient_appointment mine ON mine.appointment_id = cp.appointment_id
        WHERE a.action_kind = 'book_appointment' AND cp.proposal_id = a.source_id
          AND mine.attendance IN ('cancelled_by_patient', 'cancelled_by_hospital')
        UNION ALL
        -- (a pathway has one TCI and one clock stop at a time, but may have
        -- several appointments)
        SELECT 'superseded', 'OUT7', NULL, NULL, format('replaced by action %s', max(l.action_id)), 1
        FROM ptl.outbound_action l
        WHERE l.pathway_id = a.pathway_id AND l.action_kind = a.action_kind AND l.action_id > a.action_id
          AND a.action_kind <> 'book_appointment'
        HAVING count(*) > 0
        UNION ALL
        -- OUT3: the extract holds a matching record
        SELECT 'confirmed', 'OUT3', e.batch_id, e.event_id,
               format('the extract recorded %s%s on %s', e.kind, coalesce(' ' || e.rtt_status::text, ''), e.event_date), 2
        FROM ptl.pathway_event e
        WHERE e.pathway_id = a.pathway_id AND e.origin = 'extract'
          AND CASE a.action_kind
                  WHEN 'clock_stop' THEN (e.rtt_status = a.rtt_status OR (a.rtt_status = '36' AND e.kind = 'death'))
                                         AND abs(e.event_date - a.action_date) <= w
                  WHEN 'transfer_out' THEN (e.kind = 'transfer_out' OR e.rtt_status = '21')
                                           AND abs(e.event_date - a.action_date) <= w
                  WHEN 'transfer_in' THEN e.kind = 'transfer_in' AND abs(e.event_date - a.action_date) <= w
                  WHEN 'book_tci' THEN (e.kind = 'tci_offer' AND e.ref_date = a.action_date)
                                       OR (e.kind = 'admission' AND e.event_date = a.action_date)
                  ELSE false END
        UNION ALL
        SELECT 'confirmed', 'OUT3', we.batch_id, NULL, format('the extract booked the entry for %s', we.tci_date), 2
        FROM ptl.waiting_list_entry we JOIN ptl.batch b ON b.batch_id = we.batch_id
        WHERE a.action_kind = 'book_tci' AND we.entry_id = a.entry_id AND we.tci_date = a.action_date
          AND NOT ptl_internal.is_ptl_source(b.source_system)
        UNION ALL
        SELECT 'confirmed', 'OUT3', NULL, NULL,
               format('the extract booked the %s appointment in clinic %s on %s', oa.appointment_type, oa.clinic_code,
                      oa.appointment_date), 2
        FROM ptl.clinic_proposal cp JOIN ptl.outpatient_appointment mine ON mine.appointment_id = cp.appointment_id
        JOIN ptl.outpatient_appointment oa ON oa.pathway_id = a.pathway_id AND oa.clinic_code = mine.clinic_code
                                          AND oa.appointment_date = a.action_date AND oa.source_ref IS NOT NULL
                                          AND oa.attendance IN ('booked', 'attended', 'dna')
        WHERE a.action_kind = 'book_appointment' AND cp.proposal_id = a.source_id
        UNION ALL
        -- OUT4: the extract holds a different outcome
        SELECT 'contradicted', 'OUT4', e.batch_id, e.event_id,
               format('the extract stopped the clock with %s on %s instead', e.rtt_status, e.event_date), 3
        FROM ptl.pathway_event e
        WHERE a.action_kind IN ('clock_stop', 'transfer_out') AND e.pathway_id = a.pathway_id
          AND e.origin = 'extract' AND ptl.rtt_status_stops_clock(e.rtt_status)
          AND e.event_date >= a.action_date - w
        UNION ALL
        SELECT 'contradicted', 'OUT4', we.batch_id, NULL,
               CASE WHEN we.removed_date IS NOT NULL
                    THEN format('the extract removed the entry (%s) on %s', we.removal_reason, we.removed_date)
                    ELSE format('the extract booked the entry for %s instead', we.tci_date) END, 3
        FROM ptl.waiting_list_entry we JOIN ptl.batch b ON b.batch_id = we.batch_id
        WHERE a.action_kind = 'book_tci' AND we.entry_id = a.entry_id AND NOT ptl_internal.is_ptl_source(b.source_system)
          AND b.loaded_at > a.decided_at
          AND ((we.tci_date IS NOT NULL AND we.tci_date <> a.action_date)
               OR (we.removed_date IS NOT NULL AND we.removal_reason <> 'admitted'))
        UNION ALL
        SELECT 'contradicted', 'OUT4', NULL, NULL,
               format('the extract booked the %s appointment in clinic %s on %s instead', oa.appointment_type,
                      oa.clinic_code, oa.appointment_date), 3
        FROM ptl.clinic_proposal cp JOIN ptl.outpatient_appointment mine ON mine.appointment_id = cp.appointment_id
        JOIN ptl.outpatient_appointment oa ON oa.pathway_id = a.pathway_id AND oa.appointment_type = mine.appointment_type
                                          AND oa.source_ref IS NOT NULL AND oa.attendance = 'booked'
                                          AND (oa.clinic_code, oa.appointment_date) <> (mine.clinic_code, mine.appointment_date)
        WHERE a.action_kind = 'book_appointment' AND cp.proposal_id = a.source_id
        UNION ALL
        -- OUT5: the extract shows the clock still running after the date
        SELECT 'contradicted', 'OUT5', e.batch_id, e.event_id,
               format('the extract recorded activity with the clock running (20) on %s, after %s', e.event_date,
                      a.action_date), 4
        FROM ptl.pathway_event e
        WHERE a.action_kind IN ('clock_stop', 'transfer_out') AND e.pathway_id = a.pathway_id
          AND e.origin = 'extract' AND e.rtt_status = '20' AND e.event_date > a.action_date
        UNION ALL
        -- OUT6: sent, and an extract loaded more than the window later still
        -- does not record it
        SELECT 'contradicted', 'OUT6', min(b.batch_id), NULL,
               format('not recorded by the PAS within %s days of being sent', w), 5
        FROM ptl.batch b
        WHERE a.state = 'sent' AND b.org_code = a.provider_org AND b.status = 'loaded'
          AND NOT ptl_internal.is_ptl_source(b.source_system) AND b.loaded_at > a.sent_at + make_interval(days => w)
        HAVING count(*) > 0
        ORDER BY 6, 4 NULLS LAST
        LIMIT 1) d
    WHERE a.state IN ('proposed', 'sent');

    UPDATE ptl.outbound_action a
    SET state = r.state, resolved_at = now(), resolution_rule = r.rule, resolution = r.detail,
        resolved_by_batch = r.batch_id, matched_event_id = r.event_id
    FROM pg_temp.outbound_resolution r
    WHERE a.action_id = r.action_id;
    GET DIAGNOSTICS n = ROW_COUNT;

    -- OUT8: ptl's provisional event gives way, whatever the outcome: the
    -- PAS's own event replaces it (confirmed), or the PAS's record stands
    -- (contradicted), or ptl changed its mind (superseded).
    DELETE FROM ptl.pathway_event e
    USING pg_temp.outbound_resolution r JOIN ptl.outbound_action a ON a.action_id = r.action_id
    WHERE e.event_id = a.event_id AND e.origin = 'ptl' AND e.provisional;
    -- ... and a contradicted removal is undone (the PAS still lists the
    -- patient), a contradicted transfer in taken off the receiver's list.
    UPDATE ptl.waiting_list_entry we SET removed_date = NULL, removal_reason = NULL, updated_at = now()
    FROM pg_temp.outbound_resolution r JOIN ptl.outbound_action a ON a.action_id = r.action_id
    WHERE r.state = 'contradicted' AND a.action_kind IN ('clock_stop', 'transfer_out')
      AND we.entry_id = a.entry_id AND we.removed_date = a.removed_date AND we.removal_reason = a.removal_reason;
    UPDATE ptl.waiting_list_entry we
    SET removed_date = greatest(a.action_date, we.decision_to_admit), removal_reason = 'other', updated_at = now()
    FROM pg_temp.outbound_resolution r JOIN ptl.outbound_action a ON a.action_id = r.action_id
    WHERE r.state = 'contradicted' AND a.action_kind = 'transfer_in'
      AND we.entry_id = a.entry_id AND we.removed_date IS NULL
      AND ptl_internal.is_ptl_source((SELECT b.source_system FROM ptl.batch b WHERE b.batch_id = we.batch_id));
    -- ... and ptl's own appointment gives way: to the PAS's (confirmed: the
    -- slot, the accepted proposal and anything naming it move to the PAS's
    -- appointment, and ptl's row goes), or it is withdrawn (contradicted:
    -- the PAS booked the patient otherwise, and the slot is free again).
    CREATE TEMP TABLE outbound_appointment_merge ON COMMIT DROP AS
    SELECT DISTINCT ON (mine.appointment_id) cp.proposal_id, mine.appointment_id AS mine, mine.slot_id, oa.appointment_id AS theirs
    FROM pg_temp.outbound_resolution r
    JOIN ptl.outbound_action a ON a.action_id = r.action_id
    JOIN ptl.clinic_proposal cp ON cp.proposal_id = a.source_id
    JOIN ptl.outpatient_appointment mine ON mine.appointment_id = cp.appointment_id AND mine.source_ref IS NULL
    JOIN ptl.outpatient_appointment oa ON oa.pathway_id = a.pathway_id AND oa.clinic_code = mine.clinic_code
                                      AND oa.appointment_date = a.action_date AND oa.source_ref IS NOT NULL
                                      AND oa.attendance IN ('booked', 'attended', 'dna')
    WHERE r.state = 'confirmed' AND a.action_kind = 'book_appointment'
    ORDER BY mine.appointment_id, oa.appointment_id;
    UPDATE ptl.outpatient_appointment x SET slot_id = NULL
    FROM pg_temp.outbound_appointment_merge m WHERE x.appointment_id = m.mine;
    UPDATE ptl.outpatient_appointment x SET slot_id = m.slot_id
    FROM pg_temp.outbound_appointment_merge m WHERE x.appointment_id = m.theirs AND x.slot_id IS NULL;
    UPDATE ptl.clinic_proposal p SET appointment_id = m.theirs
    FROM pg_temp.outbound_appointment_merge m WHERE p.appointment_id = m.mine;
    UPDATE ptl.follow_up_request f SET from_appointment_id = m.theirs
    FROM pg_temp.outbound_appointment_merge m WHERE f.from_appointment_id = m.mine;
    UPDATE ptl.follow_up_request f SET seen_appointment_id = m.theirs
    FROM pg_temp.outbound_appointment_merge m WHERE f.seen_appointment_id = m.mine;
    UPDATE ptl.pifu_episode f SET from_appointment_id = m.theirs
    FROM pg_temp.outbound_appointment_merge m WHERE f.from_appointment_id = m.mine;
    DELETE FROM ptl.outpatient_appointment x USING pg_temp.outbound_appointment_merge m WHERE x.appointment_id = m.mine;
    DROP TABLE pg_temp.outbound_appointment_merge;
    -- (contradicted: withdrawn, not cancelled, so that no measure counts a
    -- cancellation nobody made; the proposal is superseded by the PAS's
    -- booking)
    CREATE TEMP TABLE outbound_appointment_withdrawn ON COMMIT DROP AS
    SELECT cp.proposal_id, cp.appointment_id
    FROM pg_temp.outbound_resolution r
    JOIN ptl.outbound_action a ON a.action_id = r.action_id
    JOIN ptl.clinic_proposal cp ON cp.proposal_id = a.source_id
    JOIN ptl.outpatient_appointment x ON x.appointment_id = cp.appointment_id AND x.source_ref IS NULL
    WHERE r.state = 'contradicted' AND a.action_kind = 'book_appointment';
    UPDATE ptl.clinic_proposal p SET status = 'superseded', appointment_id = NULL
    FROM pg_temp.outbound_appointment_withdrawn w WHERE p.proposal_id = w.proposal_id;
    DELETE FROM ptl.outpatient_appointment x USING pg_temp.outbound_appointment_withdrawn w
    WHERE x.appointment_id = w.appointment_id;
    DROP TABLE pg_temp.outbound_appointment_withdrawn;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ptl.reconcile_outbound() IS
    'Resolves open outbound actions against the loaded extracts (rules OUT3-OUT8, docs/outbound.md): confirmed, contradicted or superseded, ptl''s provisional event withdrawn, a contradicted removal undone, and ptl''s own appointment merged into the PAS''s (confirmed) or withdrawn (contradicted); returns how many were resolved. ptl.refresh runs it before the clocks';
