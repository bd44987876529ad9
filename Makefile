# ptl: PGXS build.  One ptl.so from src/*/*.c, one install script from the
# capability SQL files, room by room in the rooms' one-way order
# (docs/architecture.md; scripts/dependencies --check keeps it): later files
# use earlier objects.
EXTENSION    = ptl
EXTVERSION   = 0.4.0
SYNTHVERSION = 0.1.0

SQL_PARTS    = src/types/types.sql \
               src/types/target_elapsed.sql \
               src/model/model.sql \
               src/model/settings.sql \
               src/model/waiting_list.sql \
               src/access/access.sql \
               src/load/stage.sql \
               src/load/load.sql \
               src/load/reference.sql \
               src/link/person.sql \
               src/link/pathway.sql \
               src/rtt/engine.sql \
               src/rtt/refresh.sql \
               src/rtt/duplicates.sql \
               src/rtt/validation.sql \
               src/rtt/outbound.sql \
               src/rtt/ptl.sql \
               src/rtt/returns.sql \
               src/rtt/campaign.sql \
               src/risk/scores.sql \
               src/risk/assessment.sql \
               src/risk/cohorts.sql \
               src/risk/feed.sql \
               src/theatre/allocate.sql \
               src/theatre/theatre.sql \
               src/theatre/feed.sql \
               src/theatre/setting.sql \
               src/theatre/propose.sql \
               src/theatre/productivity.sql \
               src/outpatient/outpatient.sql \
               src/outpatient/feed.sql \
               src/outpatient/measures.sql \
               src/outpatient/clinic_slots.sql \
               src/journey/journey.sql \
               src/journey/beds.sql \
               src/journey/beds_feed.sql \
               src/journey/consultant.sql \
               src/aid/variation.sql \
               src/aid/mutual_aid.sql \
               src/aid/feed.sql \
               src/aid/choice.sql \
               src/plan/queue.sql \
               src/plan/forecast.sql \
               src/plan/inequality.sql \
               src/export/export.sql \
               src/export/outbound_reconcile.sql \
               src/export/pack.sql \
               src/refresh/refresh.sql \
               src/ops/refresh.sql \
               src/ops/audit.sql \
               src/ops/security.sql \
               src/ops/jit.sql
SYNTH_PARTS  = test/generator/ptl_synth.sql test/generator/validation_recall.sql \
               test/generator/link_accuracy.sql test/generator/link_world.sql \
               test/generator/risk.sql \
               test/generator/theatre.sql test/generator/aid.sql test/generator/beds.sql \
               test/generator/outpatients.sql test/generator/next_day.sql \
               test/generator/clinic.sql

MODULE_big   = ptl
OBJS         = src/ptl.o $(patsubst %.c,%.o,$(sort $(wildcard src/*/*.c)))
# Past releases' install and upgrade scripts are frozen in releases/; the
# upgrade to this release is built from releases/ptl--A--B.sql.in
# (scripts/build-upgrade), and frozen when the next release begins.
UPGRADES     = ptl--0.3.0--0.4.0.sql
DATA         = releases/ptl--0.1.0.sql releases/ptl--0.2.0.sql releases/ptl--0.3.0.sql \
               releases/ptl--0.1.0--0.2.0.sql releases/ptl--0.2.0--0.3.0.sql
DATA_built   = ptl--$(EXTVERSION).sql $(UPGRADES)

# pg_regress: every script in sql/, in name order, against one database that
# already has ptl installed.  Isolation specs live in specs/.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=ptl --encoding=UTF8
ISOLATION    = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=ptl

PG_CPPFLAGS  = -I$(srcdir)/src -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

EXTRA_CLEAN  = $(DATA_built) $(SYNTH_BUILT) results regression.diffs regression.out output_iso

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The synthetic ICS generator (ptl_synth) is for demos, tests and benchmarks,
# never a production server: `make install` leaves it out, and
# `make install-synth` adds it (scripts/test, scripts/demo and bench/ do).
SYNTH_BUILT  = ptl_synth--$(SYNTHVERSION).sql
all: $(SYNTH_BUILT)
.PHONY: install-synth
install-synth: $(SYNTH_BUILT)
	$(INSTALL_DATA) $(srcdir)/ptl_synth.control $(SYNTH_BUILT) '$(DESTDIR)$(datadir)/extension/'

ptl--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

ptl_synth--$(SYNTHVERSION).sql: $(SYNTH_PARTS)
	cat $^ > $@

ptl--%.sql: releases/ptl--%.sql.in scripts/build-upgrade $(SQL_PARTS)
	bash scripts/build-upgrade $< > $@

# pgTAP suites, run after `make install` against $PGDATABASE.
.PHONY: prove
prove:
	pg_prove --ext .sql -r test/pgtap
