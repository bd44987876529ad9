/*
 * normalise.c
 *		A patient record as linkage compares it (ptl.link_fields), every
 *		field in one call:
 *
 *		ptl_internal.link_normalise(nhs_number, given_name, family_name,
 *									date_of_birth, sex, postcode, address,
 *									town, telephone, email)
 *
 * The rules, each the SQL expression it replaces (releases before 0.4.0
 * ran those: eight regexp_replace calls a record, about ten seconds of a
 * million-record relink):
 *
 *	NHS number, postcode  nullif(upper(regexp_replace(x, '[^[:alnum:]]', '', 'g')), '')
 *	given, family name	  nullif(upper(regexp_replace(x, '[^[:alpha:]]', '', 'g')), '')
 *	date of birth		  as it is
 *	sex					  '1' or '2', else NULL (9 "not specified", X "not known")
 *	address, town		  nullif(upper(btrim(regexp_replace(x, '[^[:alnum:]]+', ' ', 'g'))), '')
 *	telephone			  the digits; 44 or 0044, and a 0 after it, before a digit
 *						  1-9 become the national 0 (+44 1305 ..., +44 (0)1305 ...
 *						  and 01305 ... are one number): the SQL rule of releases
 *						  before 0.4.0 did not take the (0)
 *	email				  nullif(lower(btrim(x)), '')
 *
 * Letters and digits are the regular-expression classes of the database's
 * default collation, and upper and lower case are upper() and lower() in
 * it.  A value of ASCII characters alone is filtered here (the classes of
 * every locale agree on ASCII letters and digits) and then cased by
 * upper()'s own code, so a Turkish dotted i comes out as upper() makes it;
 * a value with any other character goes through regexp_replace itself, so
 * an accented letter is kept or dropped exactly as the collation classes
 * it.  test/pgtap/link_normalise.sql holds the SQL expressions and checks
 * the two agree.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARDATA_ANY left postgres.h in 16 */
#endif

#include "link/link.h"

PG_FUNCTION_INFO_V1(ptl_link_normalise);

typedef enum KeepClass
{
	KEEP_LETTERS,				/* [:alpha:] */
	KEEP_LETTERS_DIGITS			/* [:alnum:] */
} KeepClass;

static bool
is_ascii_kept(unsigned char c, KeepClass keep)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return true;
	return keep == KEEP_LETTERS_DIGITS && c >= '0' && c <= '9';
}

static bool
is_ascii(const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
		if (IS_HIGHBIT_SET(s[i]))
			return false;
	return true;
}

/* regexp_replace(t, pattern, replacement, 'g') in the default collation */
static text *
regexp_replace_all(text *t, const char *pattern, const char *replacement)
{
	return DatumGetTextPP(DirectFunctionCall4Coll(textregexreplace,
												  DEFAULT_COLLATION_OID,
												  PointerGetDatum(t),
												  CStringGetTextDatum(pattern),
												  CStringGetTextDatum(replacement),
												  CStringGetTextDatum("g")));
}

/* A case-mapped result as a text value, or NULL when it is empty. */
static Datum
nonempty_text(const char *s, int len, bool *isnull)
{
	*isnull = (len == 0);
	return *isnull ? (Datum) 0 : PointerGetDatum(cstring_to_text_with_len(s, len));
}

/*
 * The characters of one class, upper case.  With runs_as_space, each run of
 * other characters becomes one space and the ends are trimmed (the address
 * and the town); without, they are removed.
 */
static Datum
keep_class_upper(text *t, KeepClass keep, bool runs_as_space, bool *isnull)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *kept;
	int			n = 0;
	char	   *upper;

	if (is_ascii(s, len))
	{
		bool		pending_space = false;
		int			i;

		kept = palloc(len + 1);
		for (i = 0; i < len; i++)
		{
			if (!is_ascii_kept((unsigned char) s[i], keep))
			{
				pending_space = runs_as_space;
				continue;
			}
			if (pending_space && n > 0)
				kept[n++] = ' ';
			pending_space = false;
			kept[n++] = s[i];
		}
	}
	else
	{
		const char *pattern = keep == KEEP_LETTERS ? "[^[:alpha:]]" :
		runs_as_space ? "[^[:alnum:]]+" : "[^[:alnum:]]";
		text	   *replaced = regexp_replace_all(t, pattern, runs_as_space ? " " : "");
		int			start = 0;

		kept = VARDATA_ANY(replaced);
		n = VARSIZE_ANY_EXHDR(replaced);
		/* btrim: a space is one byte in every server encoding */
		while (runs_as_space && start < n && kept[start] == ' ')
			start++;
		while (runs_as_space && n > start && kept[n - 1] == ' ')
			n--;
		kept += start;
		n -= start;
	}
	if (n == 0)
		return nonempty_text(kept, 0, isnull);
	upper = str_toupper(kept, n, DEFAULT_COLLATION_OID);
	return nonempty_text(upper, strlen(upper), isnull);
}

/* The digits, in national form. */
static Datum
telephone_digits(text *t, bool *isnull)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *digits = palloc(len + 1);
	int			n = 0;
	int			i;
	int			prefix = 0;

	/* a digit byte is the digit in every server encoding (ASCII-safe) */
	for (i = 0; i < len; i++)
		if (s[i] >= '0' && s[i] <= '9')
			digits[n++] = s[i];
	digits[n] = '\0';

	/* ^(00)?440?([1-9]) becomes 0 and that digit */
	if (strncmp(digits, "0044", 4) == 0)
		prefix = 4;
	else if (strncmp(digits, "44", 2) == 0)
		prefix = 2;
	if (prefix > 0 && digits[prefix] == '0')
		prefix++;
	if (prefix > 0 && digits[prefix] >= '1')
		digits[--prefix] = '0';
	else
		prefix = 0;
	return nonempty_text(digits + prefix, n - prefix, isnull);
}

/* Trimmed of spaces, lower case. */
static Datum
email_lower(text *t, bool *isnull)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *lower;

	while (len > 0 && *s == ' ')
	{
		s++;
		len--;
	}
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len == 0)
		return nonempty_text(s, 0, isnull);
	lower = str_tolower(s, len, DEFAULT_COLLATION_OID);
	return nonempty_text(lower, strlen(lower), isnull);
}

static bool
is_sex_code(text *t)
{
	return VARSIZE_ANY_EXHDR(t) == 1
		&& (*VARDATA_ANY(t) == '1' || *VARDATA_ANY(t) == '2');
}

Datum
ptl_link_normalise(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		values[LINK_NUM_FIELDS];
	bool		nulls[LINK_NUM_FIELDS];
	int			f;

	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "ptl_link_normalise must return ptl.link_fields");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	Assert(PG_NARGS() == LINK_NUM_FIELDS && tupdesc->natts == LINK_NUM_FIELDS);

	for (f = 0; f < LINK_NUM_FIELDS; f++)
	{
		text	   *t;

		nulls[f] = PG_ARGISNULL(f);
		values[f] = (Datum) 0;
		if (nulls[f])
			continue;
		if (f == LINK_DATE_OF_BIRTH)
		{
			values[f] = PG_GETARG_DATUM(f);
			continue;
		}
		t = PG_GETARG_TEXT_PP(f);
		switch ((LinkField) f)
		{
			case LINK_NHS_NUMBER:
			case LINK_POSTCODE:
				values[f] = keep_class_upper(t, KEEP_LETTERS_DIGITS, false, &nulls[f]);
				break;
			case LINK_GIVEN_NAME:
			case LINK_FAMILY_NAME:
				values[f] = keep_class_upper(t, KEEP_LETTERS, false, &nulls[f]);
				break;
			case LINK_ADDRESS:
			case LINK_TOWN:
				values[f] = keep_class_upper(t, KEEP_LETTERS_DIGITS, true, &nulls[f]);
				break;
			case LINK_SEX:
				nulls[f] = !is_sex_code(t);
				values[f] = nulls[f] ? (Datum) 0 : PointerGetDatum(t);
				break;
			case LINK_TELEPHONE:
				values[f] = telephone_digits(t, &nulls[f]);
				break;
			case LINK_EMAIL:
				values[f] = email_lower(t, &nulls[f]);
				break;
			case LINK_DATE_OF_BIRTH:
			case LINK_NUM_FIELDS:
				Assert(false);
				break;
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
