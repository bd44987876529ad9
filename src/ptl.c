/*
 * ptl.c
 *		Module entry point of the ptl extension.
 *
 * Each capability lives in its own directory under src/ with its C and the
 * SQL that declares it; this file only carries the module magic.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
