/*
 * check_input.c
 *		ptl.check_input(value, type): what casting the text to the type would
 *		raise, returned instead of raised.
 *
 * The loader checks millions of staged values set-wise; a subtransaction per
 * value would be far too slow and cannot run in parallel workers.  So each
 * supported type is parsed here with code that reports instead of raising:
 * ptl's own types through their shared parsers, dates through PostgreSQL's
 * own ParseDateTime/DecodeDateTime (which return error codes), integers and
 * enum labels directly.  The SQLSTATE, message and detail are those the cast
 * raises (sql/check_input.sql compares them for many inputs).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "types/types.h"

/* How a target type is checked; decided once per call site. */
typedef enum CheckKind
{
	CHECK_NHS_NUMBER,
	CHECK_RTT_STATUS,
	CHECK_CLINICAL_PRIORITY,
	CHECK_DATE,
	CHECK_INT2,
	CHECK_INT4,
	CHECK_INT8,
	CHECK_ENUM,
	CHECK_TEXT
} CheckKind;

typedef struct CheckCache
{
	Oid			target;
	CheckKind	kind;
} CheckCache;

/* Which checker serves a target type; raises for unsupported types. */
static CheckKind
CheckKindOf(Oid target)
{
	Oid			typinput;
	Oid			typioparam;
	FmgrInfo	finfo;

	switch (target)
	{
		case DATEOID:
			return CHECK_DATE;
		case INT2OID:
			return CHECK_INT2;
		case INT4OID:
			return CHECK_INT4;
		case INT8OID:
			return CHECK_INT8;
		case TEXTOID:
		case VARCHAROID:
			return CHECK_TEXT;
	}
	if (type_is_enum(target))
		return CHECK_ENUM;

	/* ptl's types are recognised by their input function, not their OID. */
	getTypeInputInfo(target, &typinput, &typioparam);
	fmgr_info(typinput, &finfo);
	if (finfo.fn_addr == nhs_number_in)
		return CHECK_NHS_NUMBER;
	if (finfo.fn_addr == rtt_status_in)
		return CHECK_RTT_STATUS;
	if (finfo.fn_addr == clinical_priority_in)
		return CHECK_CLINICAL_PRIORITY;

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ptl.check_input does not support type %s", format_type_be(target)),
			 errhint("Supported: ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority, date, smallint, integer, bigint, text, varchar and enum types.")));
	return CHECK_TEXT;			/* keep compiler quiet */
}

/* Set *problem for a date the date type's input function would refuse. */
static bool
DateProblem(const char *str, TypeProblem *problem)
{
	char		workbuf[MAXDATELEN + 1];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	fsec_t		fsec;
	struct pg_tm tt;
	int			dterr;

	/*
	 * A letter next to a '/' can make DecodeDateTime look up a time zone
	 * name and raise when it is unknown; no date in an extract is written
	 * that way, so call it bad syntax without asking.
	 */
	if (strchr(str, '/') != NULL)
	{
		for (const char *p = str; *p; p++)
			if (isalpha((unsigned char) *p))
			{
				dterr = DTERR_BAD_FORMAT;
				goto report;
			}
	}

	dterr = ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz);
	if (dterr == 0)
	{
		if (dtype == DTK_LATE || dtype == DTK_EARLY)
			return true;		/* infinity: the loader rules on it */
		if (dtype == DTK_EPOCH)
			GetEpochTime(&tt);
		else if (dtype != DTK_DATE)
		{
			dterr = DTERR_BAD_FORMAT;
			goto report;
		}
		if (IS_VALID_JULIAN(tt.tm_year, tt.tm_mon, tt.tm_mday) &&
			IS_VALID_DATE(date2j(tt.tm_year, tt.tm_mon, tt.tm_mday) - POSTGRES_EPOCH_JDATE))
			return true;
		problem->sqlerrcode = ERRCODE_DATETIME_VALUE_OUT_OF_RANGE;
		problem->message = psprintf("date out of range: \"%s\"", str);
		return false;
	}

report:
	/* The errors DateTimeParseError() raises, by code. */
	switch (dterr)
	{
		case DTERR_FIELD_OVERFLOW:
		case DTERR_MD_FIELD_OVERFLOW:
			problem->sqlerrcode = ERRCODE_DATETIME_FIELD_OVERFLOW;
			problem->message = psprintf("date/time field value out of range: \"%s\"", str);
			if (dterr == DTERR_MD_FIELD_OVERFLOW)
				problem->hint = pstrdup("Perhaps you need a different \"datestyle\" setting.");
			break;
		case DTERR_INTERVAL_OVERFLOW:
			problem->sqlerrcode = ERRCODE_INTERVAL_FIELD_OVERFLOW;
			problem->message = psprintf("interval field value out of range: \"%s\"", str);
			break;
		case DTERR_TZDISP_OVERFLOW:
			problem->sqlerrcode = ERRCODE_INVALID_TIME_ZONE_DISPLACEMENT_VALUE;
			problem->message = psprintf("time zone displacement out of range: \"%s\"", str);
			break;
		default:
			problem->sqlerrcode = ERRCODE_INVALID_DATETIME_FORMAT;
			problem->message = psprintf("invalid input syntax for type date: \"%s\"", str);
			break;
	}
	return false;
}

/*
 * Set *problem for an integer the int2/int4/int8 input functions would
 * refuse: optional white space, sign, digits, white space (PostgreSQL 15).
 */
static bool
IntegerProblem(const char *str, int64 min, int64 max, const char *typname,
			   TypeProblem *problem)
{
	const char *p = str;
	bool		negative = false;
	uint64		magnitude = 0;
	uint64		limit;
	bool		overflow = false;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '-' || *p == '+')
		negative = (*p++ == '-');
	if (!isdigit((unsigned char) *p))
		goto syntax;
	limit = negative ? (uint64) (-(min + 1)) + 1 : (uint64) max;
	while (isdigit((unsigned char) *p))
	{
		uint64		digit = *p++ - '0';

		if (!overflow && magnitude > (limit - digit) / 10)
			overflow = true;
		if (!overflow)
			magnitude = magnitude * 10 + digit;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		goto syntax;
	if (overflow)
	{
		problem->sqlerrcode = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		problem->message = psprintf("value \"%s\" is out of range for type %s", str, typname);
		return false;
	}
	return true;

syntax:
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type %s: \"%s\"", typname, str);
	return false;
}

/* Set *problem for a label that is not in the enum type. */
static bool
EnumProblem(const char *str, Oid enumtype, TypeProblem *problem)
{
	if (strlen(str) < NAMEDATALEN &&
		SearchSysCacheExists2(ENUMTYPOIDNAME, ObjectIdGetDatum(enumtype), CStringGetDatum(str)))
		return true;
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input value for enum %s: \"%s\"",
								format_type_be(enumtype), str);
	return false;
}

/* ptl.check_input(value text, target regtype) RETURNS ptl.input_problem */
PG_FUNCTION_INFO_V1(check_input);
Datum
check_input(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			target = PG_GETARG_OID(1);
	CheckCache *cache = (CheckCache *) fcinfo->flinfo->fn_extra;
	TypeProblem problem = {0};
	bool		ok;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int64		i8;
	int16		i2;

	if (cache == NULL || cache->target != target)
	{
		if (cache == NULL)
			cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(CheckCache));
		cache->kind = CheckKindOf(target);
		cache->target = target;
		fcinfo->flinfo->fn_extra = cache;
	}

	switch (cache->kind)
	{
		case CHECK_NHS_NUMBER:
			ok = NhsNumberFromString(str, &i8, &problem);
			break;
		case CHECK_RTT_STATUS:
			ok = RttStatusFromString(str, &i2, &problem);
			break;
		case CHECK_CLINICAL_PRIORITY:
			ok = ClinicalPriorityFromString(str, &i2, &problem);
			break;
		case CHECK_DATE:
			ok = DateProblem(str, &problem);
			break;
		case CHECK_INT2:
			ok = IntegerProblem(str, PG_INT16_MIN, PG_INT16_MAX, "smallint", &problem);
			break;
		case CHECK_INT4:
			ok = IntegerProblem(str, PG_INT32_MIN, PG_INT32_MAX, "integer", &problem);
			break;
		case CHECK_INT8:
			ok = IntegerProblem(str, PG_INT64_MIN, PG_INT64_MAX, "bigint", &problem);
			break;
		case CHECK_ENUM:
			ok = EnumProblem(str, target, &problem);
			break;
		default:
			ok = true;
			break;
	}
	if (ok)
		PG_RETURN_NULL();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(unpack_sql_state(problem.sqlerrcode));
	values[1] = CStringGetTextDatum(problem.message);
	if (problem.detail)
		values[2] = CStringGetTextDatum(problem.detail);
	else
		nulls[2] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
