/*
 * compare.c
 *		The comparison vector of two patient records:
 *
 *		ptl.link_compare(a ptl.link_fields, b ptl.link_fields) RETURNS bigint
 *
 * The records are already normalised (src/link/person.sql): names and the
 * address upper case, letters only (names) or single spaces (address); the
 * NHS number as the digits recorded; the postcode without spaces; sex 1 or 2
 * (other codes say nothing and are NULL).  Levels, first that applies wins:
 *
 *	NHS number	 exact | one edit (a slip or a swap) | different
 *	names		 exact | Jaro-Winkler >= 0.92 | >= 0.88 | >= 0.70 | part (one
 *				 name is the start or the end of the other, three letters or
 *				 more, or its initial: a double-barrelled family name, a
 *				 middle name run in, "J" for John) | different
 *				 (Splink's NameComparison bands), and a last level, swapped:
 *				 neither name agrees at 0.88 with its own field, but each
 *				 agrees at 0.92 with the other record's other name (given and
 *				 family name recorded the wrong way round); the family name
 *				 has one more: different, both records female (a surname
 *				 changed at marriage), its own m and u
 *	birth date	 exact | day and month swapped, or two adjacent digits of
 *				 YYYYMMDD swapped | one digit differs, or the year is one
 *				 out with month and day the same | different | and, numbered
 *				 last, two of year, month and day agree otherwise
 *	sex			 same | different; not counted (level 0) when the family name is
 *				 at its "different, both female" level, whose u already holds
 *				 the chance that two records are both female
 *	postcode	 exact | same district (outward code) | different
 *	address		 exact | Jaro-Winkler >= 0.88 | different
 *	town		 exact | Jaro-Winkler >= 0.88 | different (a field of its own:
 *				 extracts that carry no address line often carry the town)
 *	telephone	 exact | one edit (a digit wrong, or two swapped) | different
 *	email		 exact | one edit | different
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/typcache.h"

#include "link/link.h"

const int	link_field_levels[LINK_NUM_FIELDS] = {4, 9, 9, 6, 3, 4, 4, 4, 4, 4};

#define NAME_LEVEL_DIFFERENT 5
#define NAME_LEVEL_SWAPPED 6
#define NAME_LEVEL_PART 8
#define FAMILY_LEVEL_DIFFERENT_FEMALE 7
#define DATE_LEVEL_TWO_PARTS 5

/* Attribute numbers of ptl.link_fields. */
enum
{
	ATT_NHS = 1,
	ATT_GIVEN,
	ATT_FAMILY,
	ATT_DOB,
	ATT_SEX,
	ATT_POSTCODE,
	ATT_ADDRESS,
	ATT_TOWN,
	ATT_TELEPHONE,
	ATT_EMAIL
};

void
link_record_deform(HeapTupleHeader rec, LinkRecord *out)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec),
												 HeapTupleHeaderGetTypMod(rec));
	HeapTupleData tuple;

	/*
	 * Releases before 0.4.0 had no town, telephone or email: their
	 * seven-field records compare with those missing, so the library serves
	 * every installed release.
	 */
	if (tupdesc->natts < LINK_MIN_FIELDS || tupdesc->natts > LINK_NUM_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a link record has %d fields, not %d", tupdesc->natts, LINK_NUM_FIELDS),
				 errhint("Pass values of type ptl.link_fields.")));
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, tupdesc, out->values, out->nulls);
	for (int i = tupdesc->natts; i < LINK_NUM_FIELDS; i++)
		out->nulls[i] = true;
	/* once here, not at each of the twenty reads of a comparison */
	for (int i = 0; i < tupdesc->natts; i++)
		if (!out->nulls[i] && i != LINK_DATE_OF_BIRTH)
			out->values[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(out->values[i]));
	ReleaseTupleDesc(tupdesc);
}

static text *
text_attribute(const LinkRecord *rec, int attno)
{
	return rec->nulls[attno - 1] ? NULL : (text *) DatumGetPointer(rec->values[attno - 1]);
}

/* An identifier-like value: exact, one edit (a slip or a swap), different. */
static int
slip_level(const text *a, const text *b)
{
	LinkString	sa,
				sb;

	if (a == NULL || b == NULL)
		return 0;
	if (texts_equal(a, b))
		return 1;
	sa = link_string_from_text(a);
	sb = link_string_from_text(b);
	return link_within_one_edit(&sa, &sb) ? 2 : 3;
}

/* Jaro-Winkler of two present names, or a value below floor when it is; 1 when they are equal. */
static double
name_similarity(const text *a, const text *b, double floor)
{
	LinkString	sa,
				sb;

	if (texts_equal(a, b))
		return 1.0;
	sa = link_string_from_text(a);
	sb = link_string_from_text(b);
	return link_jaro_winkler_from(&sa, &sb, floor);
}

/*
 * Whether the shorter name is the start or the end of the longer (three
 * letters or more: SMITH of SMITHJONES, normalisation having dropped the
 * hyphen; JOHN of JOHNPAUL), or is one letter, the longer's initial.  Byte
 * comparison is enough: a UTF-8 string's start or end that is itself a whole
 * string is a run of whole characters.
 */
static bool
name_part_of(const text *a, const text *b)
{
	const text *shorter = VARSIZE_ANY_EXHDR(a) <= VARSIZE_ANY_EXHDR(b) ? a : b;
	const text *longer = shorter == a ? b : a;
	int			ls = VARSIZE_ANY_EXHDR(shorter);
	int			ll = VARSIZE_ANY_EXHDR(longer);
	int			chars = pg_mbstrlen_with_len(VARDATA_ANY(shorter), ls);

	if (chars == 1)
		return memcmp(VARDATA_ANY(longer), VARDATA_ANY(shorter), ls) == 0;
	if (chars < 3)
		return false;
	return memcmp(VARDATA_ANY(longer), VARDATA_ANY(shorter), ls) == 0
		|| memcmp(VARDATA_ANY(longer) + ll - ls, VARDATA_ANY(shorter), ls) == 0;
}

static int
name_level(const text *a, const text *b)
{
	double		jw;

	if (a == NULL || b == NULL)
		return 0;
	if (texts_equal(a, b))
		return 1;
	jw = name_similarity(a, b, 0.70);
	if (jw >= 0.92)
		return 2;
	if (jw >= 0.88)
		return 3;
	if (jw >= 0.70)
		return 4;
	if (name_part_of(a, b))
		return NAME_LEVEL_PART;
	return NAME_LEVEL_DIFFERENT;
}

/* The date as the eight digits YYYYMMDD (years 1000 to 9999; others: false). */
static bool
date_digits(DateADT d, int *year, int *month, int *day, char *digits)
{
	int			yyyymmdd;

	j2date(d + POSTGRES_EPOCH_JDATE, year, month, day);
	if (*year < 1000 || *year > 9999)
		return false;
	yyyymmdd = *year * 10000 + *month * 100 + *day;
	for (int i = 7; i >= 0; i--, yyyymmdd /= 10)
		digits[i] = '0' + yyyymmdd % 10;
	digits[8] = '\0';
	return true;
}

static int
date_level(DateADT a, DateADT b)
{
	int			ya,
				ma,
				da,
				yb,
				mb,
				db;
	char		sa[9],
				sb[9];
	int			differ = 0,
				first = -1;
	int			parts_equal;

	if (a == b)
		return 1;
	if (DATE_NOT_FINITE(a) || DATE_NOT_FINITE(b)
		|| !date_digits(a, &ya, &ma, &da, sa) || !date_digits(b, &yb, &mb, &db, sb))
		return 4;

	if (ya == yb && ma == db && da == mb)
		return 2;
	for (int i = 0; i < 8; i++)
	{
		if (sa[i] != sb[i])
		{
			if (first < 0)
				first = i;
			differ++;
		}
	}
	if (differ == 2 && first < 7 && sa[first] == sb[first + 1] && sa[first + 1] == sb[first]
		&& sa[first + 1] != sb[first + 1])
		return 2;

	/*
	 * One slip of a key (one digit, or the year one out with the birthday
	 * right) is what a clerk does to a date; two parts that agree otherwise
	 * (a shared birthday, say) are mostly coincidence: their own levels, as
	 * the two are as far apart as their weights show.
	 */
	if (differ == 1 || (abs(ya - yb) == 1 && ma == mb && da == db))
		return 3;
	parts_equal = (ya == yb) + (ma == mb) + (da == db);
	if (parts_equal >= 2)
		return DATE_LEVEL_TWO_PARTS;
	return 4;
}

/* The outward code: everything before the last three characters (the inward code). */
static int
postcode_level(const text *a, const text *b)
{
	int			la,
				lb;

	if (a == NULL || b == NULL)
		return 0;
	if (texts_equal(a, b))
		return 1;
	la = VARSIZE_ANY_EXHDR(a);
	lb = VARSIZE_ANY_EXHDR(b);
	if (la >= 5 && lb >= 5 && la == lb
		&& memcmp(VARDATA_ANY(a), VARDATA_ANY(b), la - 3) == 0)
		return 2;
	return 3;
}

/* An address line or a town: exact, close (a slip), or different. */
static int
place_level(const text *a, const text *b)
{
	LinkString	sa,
				sb;

	if (a == NULL || b == NULL)
		return 0;
	if (texts_equal(a, b))
		return 1;
	sa = link_string_from_text(a);
	sb = link_string_from_text(b);
	return link_jaro_winkler_from(&sa, &sb, 0.88) >= 0.88 ? 2 : 3;
}

int64
link_record_compare(const LinkRecord *a, const LinkRecord *b)
{
	int			levels[LINK_NUM_FIELDS];
	text	   *sex_a,
			   *sex_b;
	int64		gamma = 0;

	levels[LINK_NHS_NUMBER] = slip_level(text_attribute(a, ATT_NHS), text_attribute(b, ATT_NHS));
	levels[LINK_GIVEN_NAME] = name_level(text_attribute(a, ATT_GIVEN), text_attribute(b, ATT_GIVEN));
	levels[LINK_FAMILY_NAME] = name_level(text_attribute(a, ATT_FAMILY), text_attribute(b, ATT_FAMILY));
	/* given and family name recorded the wrong way round on one record */
	if (levels[LINK_GIVEN_NAME] >= 4 && levels[LINK_FAMILY_NAME] >= 4
		&& name_similarity(text_attribute(a, ATT_GIVEN), text_attribute(b, ATT_FAMILY), 0.92) >= 0.92
		&& name_similarity(text_attribute(a, ATT_FAMILY), text_attribute(b, ATT_GIVEN), 0.92) >= 0.92)
		levels[LINK_GIVEN_NAME] = levels[LINK_FAMILY_NAME] = NAME_LEVEL_SWAPPED;

	levels[LINK_DATE_OF_BIRTH] = (a->nulls[ATT_DOB - 1] || b->nulls[ATT_DOB - 1]) ? 0
		: date_level(DatumGetDateADT(a->values[ATT_DOB - 1]), DatumGetDateADT(b->values[ATT_DOB - 1]));

	sex_a = text_attribute(a, ATT_SEX);
	sex_b = text_attribute(b, ATT_SEX);
	levels[LINK_SEX] = (sex_a == NULL || sex_b == NULL) ? 0 : texts_equal(sex_a, sex_b) ? 1 : 2;

	/*
	 * Women's family names change at marriage far more often than men's, so
	 * a family name that differs says less against a match when both records
	 * are female: a level of its own, trained like the others.  Its u counts
	 * pairs that are both female, so sex is not counted a second time.
	 */
	if (levels[LINK_FAMILY_NAME] == NAME_LEVEL_DIFFERENT && levels[LINK_SEX] == 1
		&& VARSIZE_ANY_EXHDR(sex_a) == 1 && *VARDATA_ANY(sex_a) == '2')
	{
		levels[LINK_FAMILY_NAME] = FAMILY_LEVEL_DIFFERENT_FEMALE;
		levels[LINK_SEX] = 0;
	}

	levels[LINK_POSTCODE] = postcode_level(text_attribute(a, ATT_POSTCODE), text_attribute(b, ATT_POSTCODE));
	levels[LINK_ADDRESS] = place_level(text_attribute(a, ATT_ADDRESS), text_attribute(b, ATT_ADDRESS));
	levels[LINK_TOWN] = place_level(text_attribute(a, ATT_TOWN), text_attribute(b, ATT_TOWN));
	levels[LINK_TELEPHONE] = slip_level(text_attribute(a, ATT_TELEPHONE), text_attribute(b, ATT_TELEPHONE));
	levels[LINK_EMAIL] = slip_level(text_attribute(a, ATT_EMAIL), text_attribute(b, ATT_EMAIL));

	for (int f = 0; f < LINK_NUM_FIELDS; f++)
	{
		Assert(levels[f] >= 0 && levels[f] < link_field_levels[f]);
		gamma |= (int64) levels[f] << (LINK_LEVEL_BITS * f);
	}
	return gamma;
}

static int64
compare_records(HeapTupleHeader rec_a, HeapTupleHeader rec_b)
{
	LinkRecord	a,
				b;

	link_record_deform(rec_a, &a);
	link_record_deform(rec_b, &b);
	return link_record_compare(&a, &b);
}

PG_FUNCTION_INFO_V1(ptl_link_compare_wide);
Datum
ptl_link_compare_wide(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(compare_records(PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_HEAPTUPLEHEADER(1)));
}

/*
 * Releases before 0.4.0 declare ptl.link_compare RETURNS int: their records
 * have seven fields, whose vector fits in 28 bits.
 */
PG_FUNCTION_INFO_V1(ptl_link_compare);
Datum
ptl_link_compare(PG_FUNCTION_ARGS)
{
	int64		gamma = compare_records(PG_GETARG_HEAPTUPLEHEADER(0), PG_GETARG_HEAPTUPLEHEADER(1));

	if (gamma > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the comparison vector of these records does not fit in an integer"),
				 errhint("Update the extension: ALTER EXTENSION ptl UPDATE.")));
	PG_RETURN_INT32((int32) gamma);
}
