/*
 * clinical_priority.c
 *		ptl.clinical_priority: the surgical priority codes P1a, P1b, P2, P3,
 *		P4, P5, P6 (Federation of Surgical Specialty Associations, 2020;
 *		rtt-rules.md 8.1), ordered by urgency: P1a sorts first.
 *
 * Stored as the 2-byte ordinal 0 (P1a) to 6 (P6).  The target time of each
 * code is data (ptl.priority_target), not code.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "types/types.h"

#define PG_GETARG_CLINICAL_PRIORITY(n) DatumGetInt16(PG_GETARG_DATUM(n))
#define PG_RETURN_CLINICAL_PRIORITY(x) return Int16GetDatum(x)

/* Canonical spellings, most urgent first: the index is the stored value. */
static const char *const priority_names[] = {"P1a", "P1b", "P2", "P3", "P4", "P5", "P6"};

#define PRIORITY_LIST "P1a, P1b, P2, P3, P4, P5, P6"

/*
 * Parse a priority, case-insensitively, surrounding white space ignored.
 * Returns true and sets *result, or returns false and describes the problem.
 */
bool
ClinicalPriorityFromString(const char *str, int16 *result, TypeProblem *problem)
{
	const char *start = str;
	const char *end = str + strlen(str);
	size_t		len;

	while (start < end && isspace((unsigned char) *start))
		start++;
	while (end > start && isspace((unsigned char) end[-1]))
		end--;
	len = end - start;

	for (int i = 0; i < lengthof(priority_names); i++)
	{
		if (strlen(priority_names[i]) == len &&
			pg_strncasecmp(start, priority_names[i], len) == 0)
		{
			*result = (int16) i;
			return true;
		}
	}
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type clinical_priority: \"%s\"", str);
	problem->detail = pstrdup("A clinical priority must be one of " PRIORITY_LIST ".");
	/* P1 was split in the 2020 guidance; an old extract may still say P1. */
	problem->hint = (len == 2 && pg_strncasecmp(start, "P1", 2) == 0) ?
		pstrdup("P1 was split into P1a (surgery within 24 hours) and P1b (within 72 hours); record which.") :
		NULL;
	return false;
}

/* Text input. */
PG_FUNCTION_INFO_V1(clinical_priority_in);
Datum
clinical_priority_in(PG_FUNCTION_ARGS)
{
	int16		result;
	TypeProblem problem;

	if (!ClinicalPriorityFromString(PG_GETARG_CSTRING(0), &result, &problem))
		ReportTypeProblem(&problem);
	PG_RETURN_CLINICAL_PRIORITY(result);
}

/* Text output: the canonical spelling. */
PG_FUNCTION_INFO_V1(clinical_priority_out);
Datum
clinical_priority_out(PG_FUNCTION_ARGS)
{
	int16		value = PG_GETARG_CLINICAL_PRIORITY(0);

	if (value < 0 || value >= lengthof(priority_names))
		elog(ERROR, "invalid clinical_priority value %d", value);
	PG_RETURN_CSTRING(pstrdup(priority_names[value]));
}

/* Binary input: the ordinal as an int2 (0 = P1a ... 6 = P6). */
PG_FUNCTION_INFO_V1(clinical_priority_recv);
Datum
clinical_priority_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int16		value = (int16) pq_getmsgint(buf, sizeof(int16));

	if (value < 0 || value >= lengthof(priority_names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external clinical_priority value %d", value),
				 errdetail("The binary form is 0 (P1a) to 6 (P6).")));
	PG_RETURN_CLINICAL_PRIORITY(value);
}

/* Binary output. */
PG_FUNCTION_INFO_V1(clinical_priority_send);
Datum
clinical_priority_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, PG_GETARG_CLINICAL_PRIORITY(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PTL_COMPARISON_FUNCTIONS(clinical_priority, PG_GETARG_CLINICAL_PRIORITY)

/* Hash support 1: as smallint. */
PG_FUNCTION_INFO_V1(clinical_priority_hash);
Datum
clinical_priority_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint2, PG_GETARG_DATUM(0));
}

/* Hash support 2: seeded, as smallint. */
PG_FUNCTION_INFO_V1(clinical_priority_hash_extended);
Datum
clinical_priority_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint2extended, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}
