/*
 * common.h
 *		Machinery shared by ptl's C: array arguments unpacked with one
 *		SQLSTATE per fault, attributes of composite array elements, an
 *		int64 comparator, duplicate keys, string lists and union-find roots.
 *
 * Header-only (static inline): each file gets its own copy, so the
 * extension exports no new symbols.
 */
#ifndef PTL_COMMON_H
#define PTL_COMMON_H

#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

/* Attribute of a composite array element, or NULL. */
static inline Datum
element_attr(HeapTupleHeader th, TupleDesc desc, int attno, bool *isnull)
{
	HeapTupleData tuple;

	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	return heap_getattr(&tuple, attno, desc, isnull);
}

static inline void
required_attr_missing(const char *type, const char *attr, int index)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s.%s must not be NULL", type, attr),
			 errdetail("Element %d of the %s array has a NULL %s.",
					   index + 1, type, attr)));
}

static inline char *
text_attr(HeapTupleHeader th, TupleDesc desc, int attno)
{
	bool		isnull;
	Datum		d = element_attr(th, desc, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A text[] attribute as C strings; NULL elements are ignored. */
static inline char **
text_array_attr(HeapTupleHeader th, TupleDesc desc, int attno, int *n, bool *isnull)
{
	Datum		d = element_attr(th, desc, attno, isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	char	  **out;
	int			k = 0;

	*n = 0;
	if (*isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	out = palloc(sizeof(char *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			out[k++] = TextDatumGetCString(elems[i]);
	*n = k;
	return out;
}

/*
 * The elements of an array argument, which must have one dimension (or
 * none: empty) and no NULL element.  Every C function of ptl unpacks its
 * arrays here, so each fault has one SQLSTATE and one message: 2202E
 * (array_subscript_error) for more dimensions, 22004
 * (null_value_not_allowed) for a NULL element, naming the array and the
 * element (array_elements_nullable: the dimension only, NULLs returned).
 */
static inline Datum *
array_elements_nullable(ArrayType *arr, const char *name, int *n, bool **nulls)
{
	Datum	   *elems;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the %s array must have one dimension, not %d", name, ARR_NDIM(arr))));
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign,
					  &elems, nulls, n);
	return elems;
}

static inline Datum *
array_elements(ArrayType *arr, const char *name, int *n)
{
	bool	   *nulls;
	Datum	   *elems = array_elements_nullable(arr, name, n, &nulls);

	for (int i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s array must not contain NULL elements", name),
					 errdetail("Element %d is NULL.", i + 1)));
	return elems;
}

/* A float8[] argument as C doubles (array_elements' rules). */
static inline double *
float8_elements(ArrayType *arr, const char *name, int *n)
{
	Datum	   *elems = array_elements(arr, name, n);
	double	   *out = palloc(sizeof(double) * Max(*n, 1));

	Assert(ARR_ELEMTYPE(arr) == FLOAT8OID);
	for (int i = 0; i < *n; i++)
		out[i] = DatumGetFloat8(elems[i]);
	return out;
}

/* An int8[] (or int4[]) argument as C int64s (array_elements' rules). */
static inline int64 *
int64_elements(ArrayType *arr, const char *name, int *n)
{
	Datum	   *elems = array_elements(arr, name, n);
	int64	   *out = palloc(sizeof(int64) * Max(*n, 1));

	Assert(ARR_ELEMTYPE(arr) == INT8OID || ARR_ELEMTYPE(arr) == INT4OID);
	for (int i = 0; i < *n; i++)
		out[i] = ARR_ELEMTYPE(arr) == INT4OID ? DatumGetInt32(elems[i]) : DatumGetInt64(elems[i]);
	return out;
}

/* A composite array argument's elements and their row type. */
static inline Datum *
composite_elements(ArrayType *arr, int *n, TupleDesc *desc, const char *type)
{
	Datum	   *elems = array_elements(arr, type, n);

	*desc = lookup_rowtype_tupdesc_copy(ARR_ELEMTYPE(arr), -1);
	return elems;
}

static inline int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The first id that appears twice, or false. */
static inline bool
repeated_id(int64 *ids, int n, int64 *repeated)
{
	qsort(ids, n, sizeof(int64), int64_cmp);
	for (int i = 1; i < n; i++)
		if (ids[i] == ids[i - 1])
		{
			*repeated = ids[i];
			return true;
		}
	return false;
}

static inline bool
string_in(const char *s, char **list, int n)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/*
 * The root of x's set in a union-find forest over 0..n-1 (parent[i] == i
 * at a root), halving the path on the way (Tarjan and van Leeuwen, 1984).
 */
static inline int
find_root(int *parent, int x)
{
	while (parent[x] != x)
	{
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

#endif							/* PTL_COMMON_H */
