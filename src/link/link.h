/*
 * link.h
 *		Record linkage: string comparisons, the comparison vector of two
 *		patient records, Fellegi-Sunter EM, and clustering with a guard.
 *
 * A comparison vector ("gamma") packs one level per field into an int64
 * (bigint), four bits each: field f's level is (gamma >> (4 * f)) & 15.
 * Level 0 means a value was missing on either side (no evidence either
 * way); level 1 is exact agreement; higher levels agree less, the last one
 * is "different".  Releases before 0.4.0 had seven fields in an int32.
 */
#ifndef PTL_LINK_H
#define PTL_LINK_H

#include "access/htup_details.h"
#include "mb/pg_wchar.h"

typedef enum LinkField
{
	LINK_NHS_NUMBER,			/* digits as recorded, valid or not */
	LINK_GIVEN_NAME,
	LINK_FAMILY_NAME,
	LINK_DATE_OF_BIRTH,
	LINK_SEX,
	LINK_POSTCODE,
	LINK_ADDRESS,
	LINK_TOWN,
	LINK_TELEPHONE,				/* digits, national form (0...) */
	LINK_EMAIL,					/* lower case */
	LINK_NUM_FIELDS
} LinkField;

/* Fields of the records of releases before 0.4.0 (no town). */
#define LINK_MIN_FIELDS		LINK_TOWN

#define LINK_LEVEL_BITS		4
#define LINK_LEVEL_SLOTS	16	/* per field in the flattened m and u arrays */
#define LINK_LEVEL(gamma, f)	(((gamma) >> (LINK_LEVEL_BITS * (f))) & 15)

/* Number of levels of each field, counting level 0 (missing). */
extern const int link_field_levels[LINK_NUM_FIELDS];

/*
 * A record's fields (a ptl.link_fields value), deformed once: values[f] is
 * field f (LinkField order), a text field already detoasted (packed form:
 * read it with DatumGetPointer and VARDATA_ANY).
 */
typedef struct LinkRecord
{
	Datum		values[LINK_NUM_FIELDS];
	bool		nulls[LINK_NUM_FIELDS];
} LinkRecord;

/* Two text values byte for byte (both present): names, codes, NHS numbers. */
static inline bool
texts_equal(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b)
		&& memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

extern void link_record_deform(HeapTupleHeader rec, LinkRecord *out);
extern int64 link_record_compare(const LinkRecord *a, const LinkRecord *b);

/* Strings as arrays of code points, so comparisons see characters, not bytes. */
typedef struct LinkString
{
	int			len;
	pg_wchar   *chars;
} LinkString;

extern LinkString link_string_from_text(const text *t);
extern double link_jaro(const LinkString *a, const LinkString *b);
extern double link_jaro_winkler(const LinkString *a, const LinkString *b);
extern double link_jaro_winkler_from(const LinkString *a, const LinkString *b, double floor);
extern int	link_damerau_levenshtein(const LinkString *a, const LinkString *b);
extern bool link_within_one_edit(const LinkString *a, const LinkString *b);

#endif							/* PTL_LINK_H */
