# The chain covers the audit trail: its row history (chained at commit) and the
# context of audit entries.

import importlib

from django.db import migrations

# Frozen copy of camp.chain.install_sql().
INSTALL_SQL = r'''
CREATE OR REPLACE FUNCTION camp_chain_text_camp_auditentry(entry camp_auditentry) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.id, entry.actor_id, entry.action, entry.target_type, entry.target_id, entry.site_id, entry.data, entry.created_at)::text
        || CASE WHEN entry.context_id IS NULL THEN '' ELSE ',' || quote_literal(entry.context_id) END
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_amendment(entry calls_amendment) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.id, entry.call_id, entry.changes, entry.reason, entry.author_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_letters_letteramendment(entry letters_letteramendment) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.id, entry.letter_id, entry.changes, entry.reason, entry.is_correction, entry.author_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_airraidalertevent(entry calls_airraidalertevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.site_id, entry.started_at, entry.ended_at, entry.started_by_id, entry.ended_by_id)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_amendmentevent(entry calls_amendmentevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.changes, entry.reason, entry.author_id, entry.created_at, entry.call_id)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_bookingevent(entry calls_bookingevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.slot_id, entry.prisoner_id, entry.starts_at, entry.ends_at, entry.status, entry.is_makeup, entry.override_reason, entry.booked_by_id, entry.booked_at, entry.cancel_reason)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_callevent(entry calls_callevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.site_id, entry.prisoner_id, entry.contact_id, entry.number_dialled, entry.locality, entry.line_id, entry.booking_id, entry.policy_id, entry.started_at, entry.deadline, entry.ended_at, entry.outcome, entry.language, entry.monitor_id, entry.notes, entry.flagged, entry.flag_reason, entry.over_limit, entry.is_makeup, entry.transcribed_by_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_callpolicyevent(entry calls_callpolicyevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.site_id, entry.effective_from, entry.calls_open, entry.max_minutes, entry.min_days_between, entry.max_calls_per_month, entry.guards_may_book, entry.min_letters_per_month, entry.min_cards_per_month, entry.no_news_days, entry.note, entry.created_by_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_callslotevent(entry calls_callslotevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.line_id, entry.starts_at, entry.ends_at, entry.suspended_by_id)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_lineevent(entry calls_lineevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.site_id, entry.name, entry.active)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_schedulewindowevent(entry calls_schedulewindowevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.line_id, entry.weekday, entry.starts_at, entry.ends_at, entry.slot_minutes)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_calls_suspensionevent(entry calls_suspensionevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.prisoner_id, entry.reason, entry.authority, entry.document_reference, entry.starts_on, entry.ends_on, entry.created_by_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_camp_exportrecordevent(entry camp_exportrecordevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.user_id, entry.created_at, entry.dataset, entry.format, entry.filters, entry.site_codes, entry.reveal_reason, entry.row_count, entry.sha256, entry.filename, entry.chain_head)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_camp_siteevent(entry camp_siteevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.name, entry.code, entry.address, entry.time_zone)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_camp_userevent(entry camp_userevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.is_superuser, entry.username, entry.first_name, entry.last_name, entry.email, entry.is_staff, entry.is_active, entry.date_joined, entry.language)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_camp_usergroupsevent(entry camp_usergroupsevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.user_id, entry.group_id)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_camp_usersitesevent(entry camp_usersitesevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.user_id, entry.site_id)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_letters_letteramendmentevent(entry letters_letteramendmentevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.changes, entry.reason, entry.author_id, entry.created_at, entry.letter_id, entry.is_correction)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_letters_letterevent(entry letters_letterevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.site_id, entry.prisoner_id, entry.kind, entry.direction, entry.channel, entry.contact_id, entry.correspondent_name, entry.correspondent_locality, entry.reference, entry.written_on, entry.handed_in_on, entry.censored_on, entry.dispatched_on, entry.delivered_on, entry.returned_on, entry.notes, entry.in_error, entry.recorded_by_id, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_prisoners_contactevent(entry prisoners_contactevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.prisoner_id, entry.name, entry.relationship, entry.phone_number, entry.city, entry.region, entry.country, entry.language, entry.status, entry.requested_by_id, entry.requested_at, entry.decided_by_id, entry.decided_at, entry.revoke_reason)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_prisoners_prisonerevent(entry prisoners_prisonerevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.isn, entry.site_id, entry.identity, entry.surname, entry.first_names, entry.patronymic, entry.alias, entry.surname_latin, entry.first_names_latin, entry.patronymic_latin, entry.rank, entry.service_number, entry.date_of_birth, entry.place_of_birth, entry.power_depends_on, entry.father_first_name, entry.mother_maiden_name, entry.person_to_inform, entry.person_to_inform_address, entry.captured_on, entry.place_of_capture, entry.arrived_on, entry.housing_unit, entry.languages, entry.status, entry.created_at)::text
$$;
CREATE OR REPLACE FUNCTION camp_chain_text_prisoners_statuschangeevent(entry prisoners_statuschangeevent) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.pgh_id, entry.pgh_created_at, entry.pgh_label, entry.pgh_obj_id, entry.pgh_context, entry.pgh_context_id, entry.id, entry.prisoner_id, entry.status, entry.effective_on, entry.note, entry.recorded_by_id, entry.recorded_at)::text
$$;

CREATE OR REPLACE FUNCTION camp_chain_text_calls_call(entry calls_call, agrees boolean)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.id, entry.site_id, entry.prisoner_id, entry.contact_id, entry.line_id, entry.booking_id, entry.policy_id, entry.deadline, entry.monitor_id, entry.over_limit, entry.is_makeup, entry.transcribed_by_id, entry.created_at, entry.number_dialled, entry.locality, entry.started_at, entry.ended_at, entry.outcome, entry.language, entry.notes, entry.flagged, entry.flag_reason, agrees)::text
$$;

CREATE OR REPLACE FUNCTION camp_chain_content_calls_call(row_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    entry calls_call%ROWTYPE;
    original jsonb;
    change jsonb;
    agrees boolean := true;
BEGIN
    SELECT * INTO entry FROM calls_call WHERE id = row_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    original := jsonb_build_object('number_dialled', entry.number_dialled, 'locality', entry.locality, 'started_at', entry.started_at, 'ended_at', entry.ended_at, 'outcome', entry.outcome, 'language', entry.language, 'notes', entry.notes, 'flagged', entry.flagged, 'flag_reason', entry.flag_reason);
    FOR change IN
        SELECT changes FROM calls_amendment WHERE call_id = row_id ORDER BY id DESC
    LOOP
        IF change ? 'number_dialled' THEN
            agrees := agrees AND (change -> 'number_dialled' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'number_dialled')::text;
            original := jsonb_set(original, '{number_dialled}',
                COALESCE(to_jsonb((change -> 'number_dialled' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'locality' THEN
            agrees := agrees AND (change -> 'locality' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'locality')::text;
            original := jsonb_set(original, '{locality}',
                COALESCE(to_jsonb((change -> 'locality' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'started_at' THEN
            agrees := agrees AND (change -> 'started_at' ->> 'to')::timestamptz
                IS NOT DISTINCT FROM (original ->> 'started_at')::timestamptz;
            original := jsonb_set(original, '{started_at}',
                COALESCE(to_jsonb((change -> 'started_at' ->> 'from')::timestamptz), 'null'));
        END IF;
        IF change ? 'ended_at' THEN
            agrees := agrees AND (change -> 'ended_at' ->> 'to')::timestamptz
                IS NOT DISTINCT FROM (original ->> 'ended_at')::timestamptz;
            original := jsonb_set(original, '{ended_at}',
                COALESCE(to_jsonb((change -> 'ended_at' ->> 'from')::timestamptz), 'null'));
        END IF;
        IF change ? 'outcome' THEN
            agrees := agrees AND (change -> 'outcome' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'outcome')::text;
            original := jsonb_set(original, '{outcome}',
                COALESCE(to_jsonb((change -> 'outcome' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'language' THEN
            agrees := agrees AND (change -> 'language' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'language')::text;
            original := jsonb_set(original, '{language}',
                COALESCE(to_jsonb((change -> 'language' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'notes' THEN
            agrees := agrees AND (change -> 'notes' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'notes')::text;
            original := jsonb_set(original, '{notes}',
                COALESCE(to_jsonb((change -> 'notes' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'flagged' THEN
            agrees := agrees AND (change -> 'flagged' ->> 'to')::boolean
                IS NOT DISTINCT FROM (original ->> 'flagged')::boolean;
            original := jsonb_set(original, '{flagged}',
                COALESCE(to_jsonb((change -> 'flagged' ->> 'from')::boolean), 'null'));
        END IF;
        IF change ? 'flag_reason' THEN
            agrees := agrees AND (change -> 'flag_reason' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'flag_reason')::text;
            original := jsonb_set(original, '{flag_reason}',
                COALESCE(to_jsonb((change -> 'flag_reason' ->> 'from')::text), 'null'));
        END IF;
    END LOOP;
    RETURN camp_chain_text_calls_call(jsonb_populate_record(entry, original), agrees);
END;
$$;

CREATE OR REPLACE FUNCTION camp_chain_text_letters_letter(entry letters_letter, agrees boolean)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT ROW(entry.id, entry.site_id, entry.recorded_by_id, entry.created_at, entry.prisoner_id, entry.kind, entry.direction, entry.channel, entry.contact_id, entry.correspondent_name, entry.correspondent_locality, entry.reference, entry.written_on, entry.handed_in_on, entry.censored_on, entry.dispatched_on, entry.delivered_on, entry.returned_on, entry.notes, entry.in_error, agrees)::text
$$;

CREATE OR REPLACE FUNCTION camp_chain_content_letters_letter(row_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    entry letters_letter%ROWTYPE;
    original jsonb;
    change jsonb;
    agrees boolean := true;
BEGIN
    SELECT * INTO entry FROM letters_letter WHERE id = row_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    original := jsonb_build_object('prisoner_id', entry.prisoner_id, 'kind', entry.kind, 'direction', entry.direction, 'channel', entry.channel, 'contact_id', entry.contact_id, 'correspondent_name', entry.correspondent_name, 'correspondent_locality', entry.correspondent_locality, 'reference', entry.reference, 'written_on', entry.written_on, 'handed_in_on', entry.handed_in_on, 'censored_on', entry.censored_on, 'dispatched_on', entry.dispatched_on, 'delivered_on', entry.delivered_on, 'returned_on', entry.returned_on, 'notes', entry.notes, 'in_error', entry.in_error);
    FOR change IN
        SELECT changes FROM letters_letteramendment WHERE letter_id = row_id ORDER BY id DESC
    LOOP
        IF change ? 'prisoner_id' THEN
            agrees := agrees AND (change -> 'prisoner_id' ->> 'to')::bigint
                IS NOT DISTINCT FROM (original ->> 'prisoner_id')::bigint;
            original := jsonb_set(original, '{prisoner_id}',
                COALESCE(to_jsonb((change -> 'prisoner_id' ->> 'from')::bigint), 'null'));
        END IF;
        IF change ? 'kind' THEN
            agrees := agrees AND (change -> 'kind' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'kind')::text;
            original := jsonb_set(original, '{kind}',
                COALESCE(to_jsonb((change -> 'kind' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'direction' THEN
            agrees := agrees AND (change -> 'direction' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'direction')::text;
            original := jsonb_set(original, '{direction}',
                COALESCE(to_jsonb((change -> 'direction' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'channel' THEN
            agrees := agrees AND (change -> 'channel' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'channel')::text;
            original := jsonb_set(original, '{channel}',
                COALESCE(to_jsonb((change -> 'channel' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'contact_id' THEN
            agrees := agrees AND (change -> 'contact_id' ->> 'to')::bigint
                IS NOT DISTINCT FROM (original ->> 'contact_id')::bigint;
            original := jsonb_set(original, '{contact_id}',
                COALESCE(to_jsonb((change -> 'contact_id' ->> 'from')::bigint), 'null'));
        END IF;
        IF change ? 'correspondent_name' THEN
            agrees := agrees AND (change -> 'correspondent_name' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'correspondent_name')::text;
            original := jsonb_set(original, '{correspondent_name}',
                COALESCE(to_jsonb((change -> 'correspondent_name' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'correspondent_locality' THEN
            agrees := agrees AND (change -> 'correspondent_locality' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'correspondent_locality')::text;
            original := jsonb_set(original, '{correspondent_locality}',
                COALESCE(to_jsonb((change -> 'correspondent_locality' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'reference' THEN
            agrees := agrees AND (change -> 'reference' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'reference')::text;
            original := jsonb_set(original, '{reference}',
                COALESCE(to_jsonb((change -> 'reference' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'written_on' THEN
            agrees := agrees AND (change -> 'written_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'written_on')::date;
            original := jsonb_set(original, '{written_on}',
                COALESCE(to_jsonb((change -> 'written_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'handed_in_on' THEN
            agrees := agrees AND (change -> 'handed_in_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'handed_in_on')::date;
            original := jsonb_set(original, '{handed_in_on}',
                COALESCE(to_jsonb((change -> 'handed_in_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'censored_on' THEN
            agrees := agrees AND (change -> 'censored_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'censored_on')::date;
            original := jsonb_set(original, '{censored_on}',
                COALESCE(to_jsonb((change -> 'censored_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'dispatched_on' THEN
            agrees := agrees AND (change -> 'dispatched_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'dispatched_on')::date;
            original := jsonb_set(original, '{dispatched_on}',
                COALESCE(to_jsonb((change -> 'dispatched_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'delivered_on' THEN
            agrees := agrees AND (change -> 'delivered_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'delivered_on')::date;
            original := jsonb_set(original, '{delivered_on}',
                COALESCE(to_jsonb((change -> 'delivered_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'returned_on' THEN
            agrees := agrees AND (change -> 'returned_on' ->> 'to')::date
                IS NOT DISTINCT FROM (original ->> 'returned_on')::date;
            original := jsonb_set(original, '{returned_on}',
                COALESCE(to_jsonb((change -> 'returned_on' ->> 'from')::date), 'null'));
        END IF;
        IF change ? 'notes' THEN
            agrees := agrees AND (change -> 'notes' ->> 'to')::text
                IS NOT DISTINCT FROM (original ->> 'notes')::text;
            original := jsonb_set(original, '{notes}',
                COALESCE(to_jsonb((change -> 'notes' ->> 'from')::text), 'null'));
        END IF;
        IF change ? 'in_error' THEN
            agrees := agrees AND (change -> 'in_error' ->> 'to')::boolean
                IS NOT DISTINCT FROM (original ->> 'in_error')::boolean;
            original := jsonb_set(original, '{in_error}',
                COALESCE(to_jsonb((change -> 'in_error' ->> 'from')::boolean), 'null'));
        END IF;
    END LOOP;
    RETURN camp_chain_text_letters_letter(jsonb_populate_record(entry, original), agrees);
END;
$$;

CREATE OR REPLACE FUNCTION camp_chain_content(table_name text, row_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
BEGIN
    IF table_name = 'camp_auditentry' THEN
        RETURN (SELECT camp_chain_text_camp_auditentry(t) FROM camp_auditentry AS t
                WHERE t.id = row_id);
    END IF;
    IF table_name = 'calls_amendment' THEN
        RETURN (SELECT camp_chain_text_calls_amendment(t) FROM calls_amendment AS t
                WHERE t.id = row_id);
    END IF;
    IF table_name = 'letters_letteramendment' THEN
        RETURN (SELECT camp_chain_text_letters_letteramendment(t) FROM letters_letteramendment AS t
                WHERE t.id = row_id);
    END IF;
    IF table_name = 'calls_airraidalertevent' THEN
        RETURN (SELECT camp_chain_text_calls_airraidalertevent(t) FROM calls_airraidalertevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_amendmentevent' THEN
        RETURN (SELECT camp_chain_text_calls_amendmentevent(t) FROM calls_amendmentevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_bookingevent' THEN
        RETURN (SELECT camp_chain_text_calls_bookingevent(t) FROM calls_bookingevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_callevent' THEN
        RETURN (SELECT camp_chain_text_calls_callevent(t) FROM calls_callevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_callpolicyevent' THEN
        RETURN (SELECT camp_chain_text_calls_callpolicyevent(t) FROM calls_callpolicyevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_callslotevent' THEN
        RETURN (SELECT camp_chain_text_calls_callslotevent(t) FROM calls_callslotevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_lineevent' THEN
        RETURN (SELECT camp_chain_text_calls_lineevent(t) FROM calls_lineevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_schedulewindowevent' THEN
        RETURN (SELECT camp_chain_text_calls_schedulewindowevent(t) FROM calls_schedulewindowevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_suspensionevent' THEN
        RETURN (SELECT camp_chain_text_calls_suspensionevent(t) FROM calls_suspensionevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'camp_exportrecordevent' THEN
        RETURN (SELECT camp_chain_text_camp_exportrecordevent(t) FROM camp_exportrecordevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'camp_siteevent' THEN
        RETURN (SELECT camp_chain_text_camp_siteevent(t) FROM camp_siteevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'camp_userevent' THEN
        RETURN (SELECT camp_chain_text_camp_userevent(t) FROM camp_userevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'camp_usergroupsevent' THEN
        RETURN (SELECT camp_chain_text_camp_usergroupsevent(t) FROM camp_usergroupsevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'camp_usersitesevent' THEN
        RETURN (SELECT camp_chain_text_camp_usersitesevent(t) FROM camp_usersitesevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'letters_letteramendmentevent' THEN
        RETURN (SELECT camp_chain_text_letters_letteramendmentevent(t) FROM letters_letteramendmentevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'letters_letterevent' THEN
        RETURN (SELECT camp_chain_text_letters_letterevent(t) FROM letters_letterevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'prisoners_contactevent' THEN
        RETURN (SELECT camp_chain_text_prisoners_contactevent(t) FROM prisoners_contactevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'prisoners_prisonerevent' THEN
        RETURN (SELECT camp_chain_text_prisoners_prisonerevent(t) FROM prisoners_prisonerevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'prisoners_statuschangeevent' THEN
        RETURN (SELECT camp_chain_text_prisoners_statuschangeevent(t) FROM prisoners_statuschangeevent AS t
                WHERE t.pgh_id = row_id);
    END IF;
    IF table_name = 'calls_call' THEN
        RETURN camp_chain_content_calls_call(row_id);
    END IF;
    IF table_name = 'letters_letter' THEN
        RETURN camp_chain_content_letters_letter(row_id);
    END IF;
    RAISE EXCEPTION 'camp_chain_content: % is not chained', table_name;
END;
$$;

CREATE OR REPLACE FUNCTION camp_chain_append(chained_table text, row_ids bigint[],
                                             content_hashes text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    last_position bigint;
    last_hash text;
    content_hash text;
    previous_hashes text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF cardinality(row_ids) IS DISTINCT FROM cardinality(content_hashes) THEN
        RAISE EXCEPTION 'camp_chain_append: % rows but % content hashes',
            cardinality(row_ids), cardinality(content_hashes);
    END IF;
    IF cardinality(row_ids) = 0 THEN
        RETURN;
    END IF;
    -- Commit order: the tail read next is the one every other writer left.
    PERFORM pg_advisory_xact_lock(426952976750);
    SELECT position, hash INTO last_position, last_hash
    FROM camp_chainlink ORDER BY position DESC LIMIT 1;
    IF NOT FOUND THEN
        last_position := 0;
        last_hash := '0000000000000000000000000000000000000000000000000000000000000000';
    END IF;
    FOREACH content_hash IN ARRAY content_hashes LOOP
        previous_hashes := previous_hashes || last_hash;
        last_hash := encode(sha256(convert_to(last_hash || content_hash, 'UTF8')), 'hex');
        hashes := hashes || last_hash;
    END LOOP;
    INSERT INTO camp_chainlink
        (position, table_name, row_id, content_hash, previous_hash, hash, created_at)
    SELECT last_position + link.number, chained_table, link.row_id, link.content_hash,
           link.previous_hash, link.hash, now()
    FROM unnest(row_ids, content_hashes, previous_hashes, hashes)
        WITH ORDINALITY AS link(row_id, content_hash, previous_hash, hash, number);
END;
$$;

CREATE OR REPLACE FUNCTION tamper_chain_camp_auditentry_insert() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               camp_chain_text_camp_auditentry(written), 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written;
    PERFORM camp_chain_append('camp_auditentry', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_auditentry_insert ON camp_auditentry;
CREATE TRIGGER tamper_chain_camp_auditentry_insert AFTER INSERT ON camp_auditentry
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_auditentry_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_amendment_insert() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               camp_chain_text_calls_amendment(written), 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written;
    PERFORM camp_chain_append('calls_amendment', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_amendment_insert ON calls_amendment;
CREATE TRIGGER tamper_chain_calls_amendment_insert AFTER INSERT ON calls_amendment
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_amendment_insert();

CREATE OR REPLACE FUNCTION tamper_chain_letters_letteramendment_insert() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               camp_chain_text_letters_letteramendment(written), 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written;
    PERFORM camp_chain_append('letters_letteramendment', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_letters_letteramendment_insert ON letters_letteramendment;
CREATE TRIGGER tamper_chain_letters_letteramendment_insert AFTER INSERT ON letters_letteramendment
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_letters_letteramendment_insert();

CREATE OR REPLACE FUNCTION tamper_chain_letters_letter_insert() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               CASE WHEN EXISTS (SELECT FROM letters_letteramendment
                         WHERE letters_letteramendment.letter_id = written.id)
             THEN camp_chain_content_letters_letter(written.id)
             ELSE camp_chain_text_letters_letter(written, true)
             END, 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written;
    PERFORM camp_chain_append('letters_letter', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_letters_letter_insert ON letters_letter;
CREATE TRIGGER tamper_chain_letters_letter_insert AFTER INSERT ON letters_letter
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_letters_letter_insert();

CREATE TABLE IF NOT EXISTS camp_chainpending (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    row_ids bigint[] NOT NULL
);
CREATE OR REPLACE FUNCTION camp_chain_drain() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    content_hashes text[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(encode(sha256(convert_to('
                   'camp_chain_text_%s(t), ''UTF8'')), ''hex'') ORDER BY t.pgh_id), ''{}'')'
                   ' FROM %I AS t WHERE t.pgh_id = ANY($1)', NEW.table_name, NEW.table_name)
    INTO content_hashes USING NEW.row_ids;
    PERFORM camp_chain_append(NEW.table_name, NEW.row_ids, content_hashes);
    DELETE FROM camp_chainpending WHERE id = NEW.id;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_chainpending_insert ON camp_chainpending;
CREATE CONSTRAINT TRIGGER tamper_chain_camp_chainpending_insert
    AFTER INSERT ON camp_chainpending DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION camp_chain_drain();

CREATE OR REPLACE FUNCTION tamper_chain_calls_airraidalertevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_airraidalertevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_airraidalertevent_insert ON calls_airraidalertevent;
CREATE TRIGGER tamper_chain_calls_airraidalertevent_insert AFTER INSERT ON calls_airraidalertevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_airraidalertevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_amendmentevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_amendmentevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_amendmentevent_insert ON calls_amendmentevent;
CREATE TRIGGER tamper_chain_calls_amendmentevent_insert AFTER INSERT ON calls_amendmentevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_amendmentevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_bookingevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_bookingevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_bookingevent_insert ON calls_bookingevent;
CREATE TRIGGER tamper_chain_calls_bookingevent_insert AFTER INSERT ON calls_bookingevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_bookingevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_callevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_callevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_callevent_insert ON calls_callevent;
CREATE TRIGGER tamper_chain_calls_callevent_insert AFTER INSERT ON calls_callevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_callevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_callpolicyevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_callpolicyevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_callpolicyevent_insert ON calls_callpolicyevent;
CREATE TRIGGER tamper_chain_calls_callpolicyevent_insert AFTER INSERT ON calls_callpolicyevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_callpolicyevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_callslotevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_callslotevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_callslotevent_insert ON calls_callslotevent;
CREATE TRIGGER tamper_chain_calls_callslotevent_insert AFTER INSERT ON calls_callslotevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_callslotevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_lineevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_lineevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_lineevent_insert ON calls_lineevent;
CREATE TRIGGER tamper_chain_calls_lineevent_insert AFTER INSERT ON calls_lineevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_lineevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_schedulewindowevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_schedulewindowevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_schedulewindowevent_insert ON calls_schedulewindowevent;
CREATE TRIGGER tamper_chain_calls_schedulewindowevent_insert AFTER INSERT ON calls_schedulewindowevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_schedulewindowevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_suspensionevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'calls_suspensionevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_suspensionevent_insert ON calls_suspensionevent;
CREATE TRIGGER tamper_chain_calls_suspensionevent_insert AFTER INSERT ON calls_suspensionevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_suspensionevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_camp_exportrecordevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'camp_exportrecordevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_exportrecordevent_insert ON camp_exportrecordevent;
CREATE TRIGGER tamper_chain_camp_exportrecordevent_insert AFTER INSERT ON camp_exportrecordevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_exportrecordevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_camp_siteevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'camp_siteevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_siteevent_insert ON camp_siteevent;
CREATE TRIGGER tamper_chain_camp_siteevent_insert AFTER INSERT ON camp_siteevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_siteevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_camp_userevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'camp_userevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_userevent_insert ON camp_userevent;
CREATE TRIGGER tamper_chain_camp_userevent_insert AFTER INSERT ON camp_userevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_userevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_camp_usergroupsevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'camp_usergroupsevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_usergroupsevent_insert ON camp_usergroupsevent;
CREATE TRIGGER tamper_chain_camp_usergroupsevent_insert AFTER INSERT ON camp_usergroupsevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_usergroupsevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_camp_usersitesevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'camp_usersitesevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_camp_usersitesevent_insert ON camp_usersitesevent;
CREATE TRIGGER tamper_chain_camp_usersitesevent_insert AFTER INSERT ON camp_usersitesevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_camp_usersitesevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_letters_letteramendmentevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'letters_letteramendmentevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_letters_letteramendmentevent_insert ON letters_letteramendmentevent;
CREATE TRIGGER tamper_chain_letters_letteramendmentevent_insert AFTER INSERT ON letters_letteramendmentevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_letters_letteramendmentevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_letters_letterevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'letters_letterevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_letters_letterevent_insert ON letters_letterevent;
CREATE TRIGGER tamper_chain_letters_letterevent_insert AFTER INSERT ON letters_letterevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_letters_letterevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_prisoners_contactevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'prisoners_contactevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_prisoners_contactevent_insert ON prisoners_contactevent;
CREATE TRIGGER tamper_chain_prisoners_contactevent_insert AFTER INSERT ON prisoners_contactevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_prisoners_contactevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_prisoners_prisonerevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'prisoners_prisonerevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_prisoners_prisonerevent_insert ON prisoners_prisonerevent;
CREATE TRIGGER tamper_chain_prisoners_prisonerevent_insert AFTER INSERT ON prisoners_prisonerevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_prisoners_prisonerevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_prisoners_statuschangeevent_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camp_chainpending (table_name, row_ids)
    SELECT 'prisoners_statuschangeevent', array_agg(written.pgh_id ORDER BY written.pgh_id)
    FROM written HAVING count(*) > 0;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_prisoners_statuschangeevent_insert ON prisoners_statuschangeevent;
CREATE TRIGGER tamper_chain_prisoners_statuschangeevent_insert AFTER INSERT ON prisoners_statuschangeevent
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_prisoners_statuschangeevent_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_call_insert() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               CASE WHEN EXISTS (SELECT FROM calls_amendment
                         WHERE calls_amendment.call_id = written.id)
             THEN camp_chain_content_calls_call(written.id)
             ELSE camp_chain_text_calls_call(written, true)
             END, 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written
    WHERE written.ended_at IS NOT NULL;
    PERFORM camp_chain_append('calls_call', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_call_insert ON calls_call;
CREATE TRIGGER tamper_chain_calls_call_insert AFTER INSERT ON calls_call
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_call_insert();

CREATE OR REPLACE FUNCTION tamper_chain_calls_call_update() RETURNS trigger
LANGUAGE plpgsql SET timezone TO 'UTC' SET datestyle TO 'ISO, YMD' AS $$
DECLARE
    row_ids bigint[];
    content_hashes text[];
BEGIN
    -- One set-based pass over the statement's rows for their content hashes.
    SELECT coalesce(array_agg(written.id ORDER BY written.id), '{}'),
           coalesce(array_agg(encode(sha256(convert_to(
               CASE WHEN EXISTS (SELECT FROM calls_amendment
                         WHERE calls_amendment.call_id = written.id)
             THEN camp_chain_content_calls_call(written.id)
             ELSE camp_chain_text_calls_call(written, true)
             END, 'UTF8')), 'hex') ORDER BY written.id), '{}')
    INTO row_ids, content_hashes
    FROM written
    JOIN before ON before.id = written.id
    WHERE before.ended_at IS NULL AND written.ended_at IS NOT NULL;
    PERFORM camp_chain_append('calls_call', row_ids, content_hashes);
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS tamper_chain_calls_call_update ON calls_call;
CREATE TRIGGER tamper_chain_calls_call_update AFTER UPDATE ON calls_call
    REFERENCING OLD TABLE AS before NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION tamper_chain_calls_call_update();'''

# Back to the chain of 0005: without the event tables, audit entries without context.
UNINSTALL_SQL = r'''DROP TRIGGER IF EXISTS tamper_chain_calls_airraidalertevent_insert ON calls_airraidalertevent; DROP FUNCTION IF EXISTS tamper_chain_calls_airraidalertevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_airraidalertevent(calls_airraidalertevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_amendmentevent_insert ON calls_amendmentevent; DROP FUNCTION IF EXISTS tamper_chain_calls_amendmentevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_amendmentevent(calls_amendmentevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_bookingevent_insert ON calls_bookingevent; DROP FUNCTION IF EXISTS tamper_chain_calls_bookingevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_bookingevent(calls_bookingevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_callevent_insert ON calls_callevent; DROP FUNCTION IF EXISTS tamper_chain_calls_callevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_callevent(calls_callevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_callpolicyevent_insert ON calls_callpolicyevent; DROP FUNCTION IF EXISTS tamper_chain_calls_callpolicyevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_callpolicyevent(calls_callpolicyevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_callslotevent_insert ON calls_callslotevent; DROP FUNCTION IF EXISTS tamper_chain_calls_callslotevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_callslotevent(calls_callslotevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_lineevent_insert ON calls_lineevent; DROP FUNCTION IF EXISTS tamper_chain_calls_lineevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_lineevent(calls_lineevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_schedulewindowevent_insert ON calls_schedulewindowevent; DROP FUNCTION IF EXISTS tamper_chain_calls_schedulewindowevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_schedulewindowevent(calls_schedulewindowevent);
DROP TRIGGER IF EXISTS tamper_chain_calls_suspensionevent_insert ON calls_suspensionevent; DROP FUNCTION IF EXISTS tamper_chain_calls_suspensionevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_calls_suspensionevent(calls_suspensionevent);
DROP TRIGGER IF EXISTS tamper_chain_camp_exportrecordevent_insert ON camp_exportrecordevent; DROP FUNCTION IF EXISTS tamper_chain_camp_exportrecordevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_camp_exportrecordevent(camp_exportrecordevent);
DROP TRIGGER IF EXISTS tamper_chain_camp_siteevent_insert ON camp_siteevent; DROP FUNCTION IF EXISTS tamper_chain_camp_siteevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_camp_siteevent(camp_siteevent);
DROP TRIGGER IF EXISTS tamper_chain_camp_userevent_insert ON camp_userevent; DROP FUNCTION IF EXISTS tamper_chain_camp_userevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_camp_userevent(camp_userevent);
DROP TRIGGER IF EXISTS tamper_chain_camp_usergroupsevent_insert ON camp_usergroupsevent; DROP FUNCTION IF EXISTS tamper_chain_camp_usergroupsevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_camp_usergroupsevent(camp_usergroupsevent);
DROP TRIGGER IF EXISTS tamper_chain_camp_usersitesevent_insert ON camp_usersitesevent; DROP FUNCTION IF EXISTS tamper_chain_camp_usersitesevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_camp_usersitesevent(camp_usersitesevent);
DROP TRIGGER IF EXISTS tamper_chain_letters_letteramendmentevent_insert ON letters_letteramendmentevent; DROP FUNCTION IF EXISTS tamper_chain_letters_letteramendmentevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_letters_letteramendmentevent(letters_letteramendmentevent);
DROP TRIGGER IF EXISTS tamper_chain_letters_letterevent_insert ON letters_letterevent; DROP FUNCTION IF EXISTS tamper_chain_letters_letterevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_letters_letterevent(letters_letterevent);
DROP TRIGGER IF EXISTS tamper_chain_prisoners_contactevent_insert ON prisoners_contactevent; DROP FUNCTION IF EXISTS tamper_chain_prisoners_contactevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_prisoners_contactevent(prisoners_contactevent);
DROP TRIGGER IF EXISTS tamper_chain_prisoners_prisonerevent_insert ON prisoners_prisonerevent; DROP FUNCTION IF EXISTS tamper_chain_prisoners_prisonerevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_prisoners_prisonerevent(prisoners_prisonerevent);
DROP TRIGGER IF EXISTS tamper_chain_prisoners_statuschangeevent_insert ON prisoners_statuschangeevent; DROP FUNCTION IF EXISTS tamper_chain_prisoners_statuschangeevent_insert();
DROP FUNCTION IF EXISTS camp_chain_text_prisoners_statuschangeevent(prisoners_statuschangeevent);
DROP TABLE IF EXISTS camp_chainpending;
DROP FUNCTION IF EXISTS camp_chain_drain();
''' + importlib.import_module(
    "camp.migrations.0005_tamper_chain"
).INSTALL_SQL


class Migration(migrations.Migration):
    dependencies = [
        ("camp", "0008_row_history"),
        ("calls", "0006_row_history"),
        ("letters", "0004_row_history"),
        ("prisoners", "0005_row_history"),
    ]

    operations = [migrations.RunSQL(INSTALL_SQL, reverse_sql=UNINSTALL_SQL)]
