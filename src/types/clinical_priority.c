/*
 * clinical_priority.c
 *		ptl.clinical_priority: the surgical priority codes P1a, P1b, P2, P3,
 *		P4, P5, P6 (Federation of Surgical Specialty Associations, 2020;
 *		clinical guide to surgical prioritisation), ordered by urgency: P1a sorts first.
 *
 * Stored as the 2-byte ordinal 0 (P1a) to 6 (P6), so comparison, hashing and
 * sort support are PostgreSQL's own int2 functions (declared LANGUAGE
 * internal in types.sql).  The target time of each code is data, in the
 * table ptl.priority_target, not code.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "types/types.h"

#define PG_GETARG_CLINICAL_PRIORITY(n) PG_GETARG_INT16(n)
#define PG_RETURN_CLINICAL_PRIORITY(x) PG_RETURN_INT16(x)

/* Canonical spellings, most urgent first: the index is the stored value. */
static const char *const priority_names[] = {"P1a", "P1b", "P2", "P3", "P4", "P5", "P6"};

#define PRIORITY_CODES_DETAIL \
	"A clinical priority must be one of P1a, P1b, P2, P3, P4, P5, P6."

/*
 * Parse a priority, case-insensitively, surrounding white space ignored;
 * on failure describe the error that text input raises (for
 * ptl.check_input and clinical_priority_in alike).  Never raises.
 */
bool
clinical_priority_from_string(const char *str, int16 *result, TypeProblem *problem)
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
	problem->detail = pstrdup(PRIORITY_CODES_DETAIL);
	/* The 2020 guidance split P1 in two; an old extract may still say P1. */
	if (len == 2 && pg_strncasecmp(start, "P1", 2) == 0)
		problem->hint = pstrdup("P1 was split into P1a (surgery within 24 hours) and P1b (surgery within 72 hours); record which one applies.");
	else
		problem->hint = NULL;
	return false;
}

/* Text input: P1a ... P6, in any case. */
PG_FUNCTION_INFO_V1(clinical_priority_in);
Datum
clinical_priority_in(PG_FUNCTION_ARGS)
{
	int16		result;
	TypeProblem problem;

	if (!clinical_priority_from_string(PG_GETARG_CSTRING(0), &result, &problem))
		report_type_problem(&problem);
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

/* Binary input: the ordinal as an int2, 0 (P1a) to 6 (P6). */
PG_FUNCTION_INFO_V1(clinical_priority_recv);
Datum
clinical_priority_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int16		value = (int16) pq_getmsgint(buf, sizeof(int16));

	if (value < 0 || value >= lengthof(priority_names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary value for type clinical_priority: %d", value),
				 errdetail("The binary form of a clinical priority is its rank, from 0 (P1a) to 6 (P6).")));
	PG_RETURN_CLINICAL_PRIORITY(value);
}

/* Binary output: the ordinal as an int2. */
PG_FUNCTION_INFO_V1(clinical_priority_send);
Datum
clinical_priority_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, PG_GETARG_CLINICAL_PRIORITY(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
