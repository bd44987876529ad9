/*
 * alloc.h
 *		Machinery shared by ptl's allocators (src/theatre/allocate.c,
 *		src/outpatient/allocate_clinic.c): reading arrays of composite
 *		arguments, duplicate keys, string lists and union-find roots.
 *
 * Header-only (static inline): each allocator gets its own copy, so the
 * extension exports no new symbols.
 */
#ifndef PTL_ALLOC_H
#define PTL_ALLOC_H

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

static inline Datum *
composite_elements(ArrayType *arr, int *n, TupleDesc *desc, const char *type)
{
	Datum	   *elems;
	bool	   *nulls;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign,
					  &elems, &nulls, n);
	for (int i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s array must not contain NULL elements", type),
					 errdetail("Element %d is NULL.", i + 1)));
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

#endif							/* PTL_ALLOC_H */
