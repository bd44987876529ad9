/*
 * csv.c
 *		ptl.csv_records(data bytea, encoding name, delimiter text,
 *						max_field_bytes int): an extract file split into
 *		records, one row each, for ptl.stage_extract.
 *
 * COPY refuses a whole file for one bad line.  A site's extract is read here
 * instead, record by record, so that a malformed record is reported with
 * its reason while every good one is staged.  The format is RFC 4180: fields
 * separated by the delimiter, records by LF or CRLF, fields optionally in
 * double quotes, a quote inside a quoted field doubled.  An unquoted empty
 * field is NULL (as COPY's CSV format reads it); a quoted one is ''.  A UTF-8
 * byte order mark at the start is skipped, and blank lines are ignored.
 *
 * Each record comes back as (record_no, fields, problem, bad_field, raw).
 * problem is NULL for a good record, else one of
 *		unterminated_quote	the file ended inside a quoted field
 *		stray_quote			something other than a delimiter or the end of
 *							the record follows a closing quote
 *		nul_byte			a zero byte (text cannot hold one)
 *		invalid_encoding	bytes that are not valid in the file's encoding
 *		field_too_long		a field longer than max_field_bytes
 * and fields is NULL; raw is then the record with every byte outside
 * printable ASCII written as \xNN (cut at 2000 bytes), safe to store and
 * show.  Column counts and cell contents are checked by the caller.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define CSV_RAW_SHOWN	2000

PG_FUNCTION_INFO_V1(csv_records);

typedef struct CsvField
{
	int			start;			/* offset of the field's first byte */
	int			len;			/* bytes after unquoting */
	bool		quoted;
	char	   *value;			/* unquoted bytes (palloc'd) */
} CsvField;

/* The record's bytes made printable: \xNN for anything not ASCII 32..126. */
static text *
csv_raw_shown(const char *p, int len)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < len && buf.len < CSV_RAW_SHOWN; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c >= 32 && c < 127 && c != '\\')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "\\x%02X", c);
	}
	if (i < len)
		appendStringInfoString(&buf, "...");
	return cstring_to_text_with_len(buf.data, buf.len);
}

/* The first fault of a record is the one reported. */
static void
csv_fault(const char **problem, int *bad_field, const char *what, int field)
{
	if (*problem == NULL)
	{
		*problem = what;
		*bad_field = field;
	}
}

/* One byte of a field's value, noting a zero byte or an overlong field. */
static void
csv_take(StringInfo value, char c, int max_field, const char **problem, int *bad_field, int field)
{
	if (c == '\0')
		csv_fault(problem, bad_field, "nul_byte", field);
	if (value->len < max_field)
		appendStringInfoChar(value, c);
	else
		csv_fault(problem, bad_field, "field_too_long", field);
}

Datum
csv_records(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	Name		encoding_name = PG_GETARG_NAME(1);
	text	   *delimiter_text = PG_GETARG_TEXT_PP(2);
	int32		max_field = PG_GETARG_INT32(3);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *p = VARDATA_ANY(data);
	int			n = VARSIZE_ANY_EXHDR(data);
	int			encoding = pg_char_to_encoding(NameStr(*encoding_name));
	int			server_encoding = GetDatabaseEncoding();
	char		delimiter;
	int			pos = 0;
	int			record_no = 0;
	int			nalloc = 16;
	CsvField   *fields = palloc(nalloc * sizeof(CsvField));
	StringInfoData value;
	MemoryContext record_context;
	MemoryContext caller_context;

	if (encoding < 0 || !PG_VALID_FE_ENCODING(encoding))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an encoding an extract can be read in", NameStr(*encoding_name)),
				 errhint("Name a client encoding such as UTF8, LATIN1 or WIN1252.")));
	if (VARSIZE_ANY_EXHDR(delimiter_text) != 1 ||
		*VARDATA_ANY(delimiter_text) == '"' ||
		*VARDATA_ANY(delimiter_text) == '\n' ||
		*VARDATA_ANY(delimiter_text) == '\r')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the delimiter must be one character other than a quote or a line break")));
	delimiter = *VARDATA_ANY(delimiter_text);
	if (max_field < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_field_bytes must be at least 1, not %d", max_field)));

	InitMaterializedSRF(fcinfo, 0);
	initStringInfo(&value);
	/* A record's values live here until the tuplestore has copied them. */
	record_context = AllocSetContextCreate(CurrentMemoryContext, "ptl csv record",
										   ALLOCSET_DEFAULT_SIZES);

	/* A UTF-8 byte order mark is not data. */
	if (n >= 3 && (unsigned char) p[0] == 0xEF && (unsigned char) p[1] == 0xBB &&
		(unsigned char) p[2] == 0xBF)
		pos = 3;

	while (pos < n)
	{
		int			record_start = pos;
		int			nfields = 0;
		const char *problem = NULL;
		int			bad_field = 0;
		bool		end_of_record = false;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(record_context);
		caller_context = MemoryContextSwitchTo(record_context);

		/* Blank lines separate nothing. */
		if (p[pos] == '\n' || (p[pos] == '\r' && pos + 1 < n && p[pos + 1] == '\n'))
		{
			pos += (p[pos] == '\r') ? 2 : 1;
			MemoryContextSwitchTo(caller_context);
			continue;
		}
		record_no++;

		while (!end_of_record)
		{
			CsvField   *f;

			if (nfields == nalloc)
			{
				nalloc *= 2;
				fields = repalloc(fields, nalloc * sizeof(CsvField));
			}
			f = &fields[nfields++];
			f->start = pos;
			f->quoted = false;
			resetStringInfo(&value);

			if (pos < n && p[pos] == '"')
			{
				f->quoted = true;
				pos++;
				for (;;)
				{
					if (pos >= n)
					{
						csv_fault(&problem, &bad_field, "unterminated_quote", nfields);
						end_of_record = true;
						break;
					}
					if (p[pos] == '"')
					{
						if (pos + 1 < n && p[pos + 1] == '"')
						{
							appendStringInfoChar(&value, '"');
							pos += 2;
							continue;
						}
						pos++;
						break;
					}
					csv_take(&value, p[pos], max_field, &problem, &bad_field, nfields);
					pos++;
				}
			}

			/* The unquoted part (all of an unquoted field). */
			while (!end_of_record && pos < n && p[pos] != delimiter && p[pos] != '\n' &&
				   !(p[pos] == '\r' && pos + 1 < n && p[pos + 1] == '\n'))
			{
				if (f->quoted)
					csv_fault(&problem, &bad_field, "stray_quote", nfields);
				csv_take(&value, p[pos], max_field, &problem, &bad_field, nfields);
				pos++;
			}

			f->len = value.len;
			f->value = NULL;
			if (!problem)
			{
				if (!pg_verify_mbstr(encoding, value.data, value.len, true))
					csv_fault(&problem, &bad_field, "invalid_encoding", nfields);
				else
					f->value = pnstrdup(value.data, value.len);
			}

			if (end_of_record || pos >= n)
				end_of_record = true;
			else if (p[pos] == delimiter)
				pos++;
			else
			{
				pos += (p[pos] == '\r') ? 2 : 1;
				end_of_record = true;
			}
		}

		values[0] = Int32GetDatum(record_no);
		if (problem)
		{
			int			record_end = pos;

			/* The record shown without its line break. */
			while (record_end > record_start &&
				   (p[record_end - 1] == '\n' || p[record_end - 1] == '\r'))
				record_end--;
			nulls[1] = true;
			values[2] = CStringGetTextDatum(problem);
			values[3] = Int32GetDatum(bad_field);
			values[4] = PointerGetDatum(csv_raw_shown(p + record_start, record_end - record_start));
		}
		else
		{
			Datum	   *elems = palloc(nfields * sizeof(Datum));
			bool	   *elem_nulls = palloc(nfields * sizeof(bool));
			int			dims[1] = {nfields};
			int			lbs[1] = {1};
			int			i;

			for (i = 0; i < nfields; i++)
			{
				CsvField   *f = &fields[i];

				elem_nulls[i] = (f->len == 0 && !f->quoted);
				if (elem_nulls[i])
					elems[i] = (Datum) 0;
				else
				{
					char	   *converted = (char *) pg_do_encoding_conversion((unsigned char *) f->value, f->len,
																			 encoding, server_encoding);

					elems[i] = PointerGetDatum(cstring_to_text(converted));
				}
			}
			values[1] = PointerGetDatum(construct_md_array(elems, elem_nulls, 1, dims, lbs,
														   TEXTOID, -1, false, TYPALIGN_INT));
			nulls[2] = nulls[3] = nulls[4] = true;
		}
		MemoryContextSwitchTo(caller_context);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(record_context);
	return (Datum) 0;
}
