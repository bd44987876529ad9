/*
 * check_input.c
 *		ptl.check_input(value, target): what casting the text to the type
 *		would raise, returned instead of raised.
 *
 * The loader checks millions of staged values set-wise, in parallel where it
 * can; a subtransaction per value would be slow and is not allowed in a
 * parallel worker.  So each supported type is parsed here by code that
 * reports instead of raising: ptl's own types through their shared parsers
 * and enum labels by a syscache lookup.  Dates and integers: on PostgreSQL
 * 16 and later through the core's own input functions, which report softly
 * (InputFunctionCallSafe); on 15, which cannot, through its own
 * ParseDateTime/DecodeDateTime (which return error codes, but for the two
 * cases decode_date_time_quietly deals with) and by the rules of 15's
 * pg_strtoint16/32/64.  The SQLSTATE, message and detail
 * are exactly those of the cast; sql/check_input.sql proves it value by
 * value against the cast itself.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

#include "types/types.h"

/*
 * The integer and date rules copied below for PostgreSQL 15 are 15's own;
 * 16 changed integer input (underscores; 0x, 0o and 0b prefixes), which is
 * why 16 and later ask the core's input functions instead of a copy: the
 * loader then quarantines by exactly the rules of the casts it stands in
 * for, on every version.
 */
#if PG_VERSION_NUM < 150000
#error "ptl needs PostgreSQL 15 or later"
#endif

/* How a target type is checked. */
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

/* What one call site of check_input remembers between rows. */
typedef struct CheckCache
{
	Oid			target;			/* InvalidOid until the first row */
	CheckKind	kind;
	TupleDesc	tupdesc;		/* ptl.input_problem, blessed */
#if PG_VERSION_NUM >= 160000
	FmgrInfo	input;			/* the target's input function */
	Oid			typioparam;
#endif
} CheckCache;

/*
 * Raise the error a parser described.  Shared by the three types' input
 * functions, so that what they raise is what check_input returns.
 */
void
report_type_problem(const TypeProblem *problem)
{
	ereport(ERROR,
			(errcode(problem->sqlerrcode),
			 errmsg_internal("%s", problem->message),
			 problem->detail ? errdetail_internal("%s", problem->detail) : 0,
			 problem->hint ? errhint("%s", problem->hint) : 0));
	pg_unreachable();
}

/*
 * Which checker serves a target type; raises for an unsupported type.
 *
 * A regtype argument is only an OID: '999999'::regtype or 0::regtype name no
 * type at all, and the lookups below would fail with an internal "cache
 * lookup failed" error.  So the type's existence is checked first, and its
 * absence reported as the user's error (42704, undefined_object).
 */
static CheckKind
check_kind_of(Oid target)
{
	Oid			typinput;
	Oid			typioparam;
	FmgrInfo	finfo;

	if (!OidIsValid(target) || !SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(target)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type with OID %u does not exist", target),
				 errhint("Pass the target type by name, e.g. 'date'::regtype.")));

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

	/* ptl's own types are known by their input function, not by OID. */
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
			 errdetail("Supported types are ptl.nhs_number, ptl.rtt_status, ptl.clinical_priority, date, smallint, integer, bigint, text, character varying and enum types.")));
	pg_unreachable();
}

#if PG_VERSION_NUM >= 160000

/*
 * Whether the target's core input function (date_in, int2in, int4in,
 * int8in) would accept str; if not, what it would raise: 16 and later
 * report such errors softly, so no copy of their rules is needed.
 */
static bool
core_input_accepts(CheckCache *cache, char *str, TypeProblem *problem)
{
	ErrorSaveContext escontext = {T_ErrorSaveContext};
	Datum		result;

	escontext.details_wanted = true;
	if (InputFunctionCallSafe(&cache->input, str, cache->typioparam, -1,
							  (Node *) &escontext, &result))
		return true;
	Assert(escontext.error_occurred && escontext.error_data != NULL);
	problem->sqlerrcode = escontext.error_data->sqlerrcode;
	problem->message = escontext.error_data->message;
	problem->detail = escontext.error_data->detail;
	problem->hint = escontext.error_data->hint;
	return false;
}

#else							/* PostgreSQL 15 */

/* Describe the error DateTimeParseError() raises for a DTERR_* code. */
static void
date_parse_problem(int dterr, const char *str, TypeProblem *problem)
{
	switch (dterr)
	{
		case DTERR_FIELD_OVERFLOW:
			problem->sqlerrcode = ERRCODE_DATETIME_FIELD_OVERFLOW;
			problem->message = psprintf("date/time field value out of range: \"%s\"", str);
			break;
		case DTERR_MD_FIELD_OVERFLOW:
			problem->sqlerrcode = ERRCODE_DATETIME_FIELD_OVERFLOW;
			problem->message = psprintf("date/time field value out of range: \"%s\"", str);
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
		case DTERR_BAD_FORMAT:
		default:
			problem->sqlerrcode = ERRCODE_INVALID_DATETIME_FORMAT;
			problem->message = psprintf("invalid input syntax for type date: \"%s\"", str);
			break;
	}
}

/*
 * DecodeDateTime, with its two ereports turned into a problem.
 *
 * PostgreSQL 15's DecodeDateTime returns a DTERR_* code for every malformed
 * date but two: a time-zone-like word it cannot resolve ("2025-01-01 N/A"
 * raises 22023 'time zone "n/a" not recognized'), and a time zone
 * abbreviation whose configured zone is missing (a configuration error,
 * F0000).  Both are raised before anything is locked, pinned or
 * opened, so, as xml_is_document() does for its own known error, we catch
 * exactly those two SQLSTATEs without a subtransaction and re-throw
 * anything else.  (PostgreSQL 16 returns codes for both.)  Returns what
 * DecodeDateTime returns (0, a DTERR_* code, or 1 for a time without a
 * date), or sets *raised and fills *problem from the caught error.
 */
static int
decode_date_time_quietly(char **field, int *ftype, int nf, int *dtype,
					  struct pg_tm *tm, fsec_t *fsec, int *tz,
					  bool *raised, TypeProblem *problem)
{
	MemoryContext context = CurrentMemoryContext;
	uint32		holdoff = InterruptHoldoffCount;
	uint32		cancel_holdoff = QueryCancelHoldoffCount;
	volatile int dterr = 0;

	PG_TRY();
	{
		dterr = DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tz);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_INVALID_PARAMETER_VALUE &&
			edata->sqlerrcode != ERRCODE_CONFIG_FILE_ERROR)
			PG_RE_THROW();
		FlushErrorState();
		/* errfinish() zeroes these before it jumps; put them back. */
		InterruptHoldoffCount = holdoff;
		QueryCancelHoldoffCount = cancel_holdoff;

		problem->sqlerrcode = edata->sqlerrcode;
		problem->message = edata->message;
		problem->detail = edata->detail;
		problem->hint = edata->hint;
		*raised = true;
	}
	PG_END_TRY();
	return dterr;
}

/* Whether date_in() would accept str; if not, what it would raise. */
static bool
date_from_string(const char *str, TypeProblem *problem)
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
	bool		raised = false;

	dterr = ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
	{
		dterr = decode_date_time_quietly(field, ftype, nf, &dtype, &tt, &fsec, &tz,
									  &raised, problem);
		if (raised)
			return false;
	}
	if (dterr != 0)
	{
		date_parse_problem(dterr, str, problem);
		return false;
	}

	/* The same ruling on the decoded value as date_in(). */
	switch (dtype)
	{
		case DTK_DATE:
			break;
		case DTK_EPOCH:
			GetEpochTime(&tt);
			break;
		case DTK_LATE:
		case DTK_EARLY:
			return true;		/* infinity and -infinity */
		default:
			date_parse_problem(DTERR_BAD_FORMAT, str, problem);
			return false;
	}
	if (!IS_VALID_JULIAN(tt.tm_year, tt.tm_mon, tt.tm_mday) ||
		!IS_VALID_DATE(date2j(tt.tm_year, tt.tm_mon, tt.tm_mday) - POSTGRES_EPOCH_JDATE))
	{
		problem->sqlerrcode = ERRCODE_DATETIME_VALUE_OUT_OF_RANGE;
		problem->message = psprintf("date out of range: \"%s\"", str);
		return false;
	}
	return true;
}

/*
 * Whether int2in/int4in/int8in would accept str; if not, what they would
 * raise.  The rules are PostgreSQL 15's: optional white space, an optional
 * sign, at least one digit, optional white space.  A number that overflows
 * while its digits are read is out of range even if junk follows; the one
 * value that fits only when negative (e.g. 2147483648) is checked after the
 * trailing characters.
 */
static bool
integer_from_string(const char *str, int64 min, const char *typname,
				  TypeProblem *problem)
{
	const char *p = str;
	bool		negative = false;
	int64		value = 0;		/* accumulated as a negative number */

	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p == '-')
	{
		negative = true;
		p++;
	}
	else if (*p == '+')
		p++;
	if (!isdigit((unsigned char) *p))
		goto syntax;
	while (*p && isdigit((unsigned char) *p))
	{
		int			digit = *p++ - '0';

		if (pg_mul_s64_overflow(value, 10, &value) ||
			pg_sub_s64_overflow(value, digit, &value) ||
			value < min)
			goto out_of_range;
	}
	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		goto syntax;
	if (!negative && value == min)
		goto out_of_range;
	return true;

out_of_range:
	problem->sqlerrcode = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
	problem->message = psprintf("value \"%s\" is out of range for type %s", str, typname);
	return false;

syntax:
	problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
	problem->message = psprintf("invalid input syntax for type %s: \"%s\"", typname, str);
	return false;
}

#endif							/* PG_VERSION_NUM >= 160000 */

/*
 * Whether enum_in() would accept str as a label of the enum type; if not,
 * what it would raise.  Like enum_in(), a label added by ALTER TYPE ... ADD
 * VALUE in a transaction that has not committed is unsafe to use (55P04).
 */
static bool
enum_from_string(const char *str, Oid enumtype, TypeProblem *problem)
{
	HeapTuple	tuple;
	Form_pg_enum label;
	TransactionId xmin;
	bool		safe;

	if (strlen(str) >= NAMEDATALEN ||
		!HeapTupleIsValid(tuple = SearchSysCache2(ENUMTYPOIDNAME,
												  ObjectIdGetDatum(enumtype),
												  CStringGetDatum(str))))
	{
		problem->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
		problem->message = psprintf("invalid input value for enum %s: \"%s\"",
									format_type_be(enumtype), str);
		return false;
	}

	label = (Form_pg_enum) GETSTRUCT(tuple);
	xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	safe = HeapTupleHeaderXminCommitted(tuple->t_data) ||
		(!TransactionIdIsInProgress(xmin) && TransactionIdDidCommit(xmin)) ||
		!EnumUncommitted(label->oid);
	if (!safe)
	{
		problem->sqlerrcode = ERRCODE_UNSAFE_NEW_ENUM_VALUE_USAGE;
		problem->message = psprintf("unsafe use of new value \"%s\" of enum type %s",
									NameStr(label->enumlabel), format_type_be(enumtype));
		problem->hint = pstrdup("New enum values must be committed before they can be used.");
	}
	ReleaseSysCache(tuple);
	return safe;
}

/*
 * ptl.check_input(value text, target regtype) RETURNS ptl.input_problem:
 * NULL when value::target would succeed, otherwise the SQLSTATE, message
 * and detail the cast would raise.  Never raises for a supported type.
 */
PG_FUNCTION_INFO_V1(ptl_check_input);
Datum
ptl_check_input(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			target = PG_GETARG_OID(1);
	CheckCache *cache = (CheckCache *) fcinfo->flinfo->fn_extra;
	TypeProblem problem = {0};
	bool		ok;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int64		i8;
	int16		i2;

	if (cache == NULL)
	{
		TupleDesc	tupdesc;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache = palloc(sizeof(CheckCache));
		cache->target = InvalidOid;
		cache->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}
	/*
	 * The cache is filled only once check_kind_of has accepted the type: until
	 * then its target is InvalidOid, which no accepted type has.
	 */
	if (!OidIsValid(cache->target) || cache->target != target)
	{
		cache->target = InvalidOid;
		cache->kind = check_kind_of(target);
#if PG_VERSION_NUM >= 160000
		{
			Oid			typinput;

			getTypeInputInfo(target, &typinput, &cache->typioparam);
			fmgr_info_cxt(typinput, &cache->input, fcinfo->flinfo->fn_mcxt);
		}
#endif
		cache->target = target;
	}

	switch (cache->kind)
	{
		case CHECK_NHS_NUMBER:
			ok = nhs_number_from_string(str, &i8, &problem);
			break;
		case CHECK_RTT_STATUS:
			ok = rtt_status_from_string(str, &i2, &problem);
			break;
		case CHECK_CLINICAL_PRIORITY:
			ok = clinical_priority_from_string(str, &i2, &problem);
			break;
#if PG_VERSION_NUM >= 160000
		case CHECK_DATE:
		case CHECK_INT2:
		case CHECK_INT4:
		case CHECK_INT8:
			ok = core_input_accepts(cache, str, &problem);
			break;
#else
		case CHECK_DATE:
			ok = date_from_string(str, &problem);
			break;
		case CHECK_INT2:
			ok = integer_from_string(str, PG_INT16_MIN, "smallint", &problem);
			break;
		case CHECK_INT4:
			ok = integer_from_string(str, PG_INT32_MIN, "integer", &problem);
			break;
		case CHECK_INT8:
			ok = integer_from_string(str, PG_INT64_MIN, "bigint", &problem);
			break;
#endif
		case CHECK_ENUM:
			ok = enum_from_string(str, target, &problem);
			break;
		case CHECK_TEXT:
		default:
			ok = true;
			break;
	}
	if (ok)
		PG_RETURN_NULL();

	values[0] = CStringGetTextDatum(unpack_sql_state(problem.sqlerrcode));
	values[1] = CStringGetTextDatum(problem.message);
	if (problem.detail)
		values[2] = CStringGetTextDatum(problem.detail);
	else
		nulls[2] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls)));
}
