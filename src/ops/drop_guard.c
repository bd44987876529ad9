/*
 * drop_guard.c
 *		An event trigger that keeps DROP EXTENSION ptl (or DROP SCHEMA ptl
 *		CASCADE) from deleting patient data and the audit log by accident.
 *
 * Dropping an extension drops every table it created with their rows, and
 * PostgreSQL says nothing about them: CASCADE lists only the user's own
 * dependent objects.  So while ptl.patient, ptl.pathway or ptl.audit_log
 * hold rows, the drop is refused unless the setting ptl.allow_drop_with_data
 * is on, which a DBA sets for the one transaction that drops it, after
 * keeping a copy (docs/operations.md, "Uninstalling").
 *
 * The trigger fires at ddl_command_start, before anything is dropped: at
 * sql_drop the trigger itself would already be gone with the extension.  The
 * statement's parse tree says what is being dropped, so dropping any other
 * extension or schema is never slowed or refused.
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_FUNCTION_INFO_V1(ptl_guard_drop);

/* Does the DROP statement name ptl's extension or its schema? */
static bool
drop_targets_ptl(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION && stmt->removeType != OBJECT_SCHEMA)
		return false;
	/* A schema holds the extension only through CASCADE. */
	if (stmt->removeType == OBJECT_SCHEMA && stmt->behavior != DROP_CASCADE)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *name = (Node *) lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "ptl") == 0)
			return true;
	}
	return false;
}

/* Rows in one of ptl's tables (an exact count: a drop can wait for it). */
static int64
rows_in(const char *table)
{
	char	   *query = psprintf("SELECT count(*) FROM %s", table);
	bool		isnull;
	int64		n;

	if (SPI_execute(query, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the rows of %s", table);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pfree(query);
	return isnull ? 0 : n;
}

Datum
ptl_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	const char *allowed;
	int64		patients;
	int64		pathways;
	int64		audit_entries;
	bool		on = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ptl.guard_drop() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt) ||
		!drop_targets_ptl((DropStmt *) trigdata->parsetree))
		PG_RETURN_VOID();

	allowed = GetConfigOption("ptl.allow_drop_with_data", true, false);
	if (allowed != NULL && parse_bool(allowed, &on) && on)
		PG_RETURN_VOID();

	SPI_connect();
	patients = rows_in("ptl.patient");
	pathways = rows_in("ptl.pathway");
	audit_entries = rows_in("ptl.audit_log");
	SPI_finish();

	if (patients + pathways + audit_entries > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ptl holds patient data: dropping it would delete " INT64_FORMAT " patient records, " INT64_FORMAT " pathway records and " INT64_FORMAT " audit log entries",
						patients, pathways, audit_entries),
				 errdetail("Dropping the extension deletes every table in schema ptl with its rows, the append-only audit log included."),
				 errhint("Keep a copy first (pg_dump -Fc of the whole database), then drop it in a transaction that says so: BEGIN; SET LOCAL ptl.allow_drop_with_data = on; DROP EXTENSION ptl; COMMIT;")));
	PG_RETURN_VOID();
}
