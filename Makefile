# vlab — one non-recursive Makefile. `make`, `make check`, `make install`, `make demo`.
# Objects go to $(BUILD); tests are built a second time with ASan+UBSan under $(BUILD)/san.
# Quiet unless V=1.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
DESTDIR ?=
BUILD   ?= build

CC      ?= cc
CFLAGS  ?= -O2 -g
WFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

PKGS_COMMON := libconfig json-c libssh
PKGS_NETD   := libnftnl libmnl libnl-3.0 libnl-route-3.0
PKGS_LABD   := libvirt sqlite3 libisofs-1 yaml-0.1 libxml-2.0
PKGS_CLI    := libcurl icu-i18n icu-uc
LIBS_EXTRA  := -lcsv

ifeq ($(V),1)
Q :=
else
Q := @
endif

pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)

ALL_PKGS := $(PKGS_COMMON) $(PKGS_NETD) $(PKGS_LABD) $(PKGS_CLI)
CPPFLAGS += -I. $(call pc_cflags,$(ALL_PKGS))

COMMON_SRC := $(sort $(wildcard common/*.c))
NETD_SRC   := $(filter-out netd/main.c,$(sort $(wildcard netd/*.c)))
LABD_SRC   := $(filter-out labd/main.c,$(sort $(wildcard labd/*.c)))
CLI_SRC    := $(filter-out cli/main.c,$(sort $(wildcard cli/*.c)))
GATE_SRC   := $(filter-out gate/main.c,$(sort $(wildcard gate/*.c)))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
sobj = $(patsubst %.c,$(BUILD)/san/obj/%.o,$(1))

LIBS_COMMON := $(call pc_libs,$(PKGS_COMMON))
LIBS_NETD   := $(call pc_libs,$(PKGS_NETD))
LIBS_LABD   := $(call pc_libs,$(PKGS_LABD))
LIBS_CLI    := $(call pc_libs,$(PKGS_CLI))

PROGS := $(BUILD)/netd $(BUILD)/labd $(BUILD)/labctl $(BUILD)/vlab-gate
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c)) \
         $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

all: $(PROGS)

$(BUILD)/libcommon.a: $(call obj,$(COMMON_SRC))
$(BUILD)/libnetd.a:   $(call obj,$(NETD_SRC))
$(BUILD)/liblabd.a:   $(call obj,$(LABD_SRC))
$(BUILD)/libcli.a:    $(call obj,$(CLI_SRC))
$(BUILD)/libgate.a:   $(call obj,$(GATE_SRC))
$(BUILD)/san/libcommon.a: $(call sobj,$(COMMON_SRC))
$(BUILD)/san/libnetd.a:   $(call sobj,$(NETD_SRC))
$(BUILD)/san/liblabd.a:   $(call sobj,$(LABD_SRC))
$(BUILD)/san/libcli.a:    $(call sobj,$(CLI_SRC))
$(BUILD)/san/libgate.a:   $(call sobj,$(GATE_SRC))

%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(if $(Q),@echo "  AR      $@")
	$(Q)ar rcs $@ $^ $(if $^,,$(BUILD)/empty.o)

$(BUILD)/empty.o:
	@mkdir -p $(dir $@)
	$(Q)echo 'typedef int vlab_empty_unit;' | $(CC) -x c -c -o $@ -
$(BUILD)/san/empty.o:
	@mkdir -p $(dir $@)
	$(Q)echo 'typedef int vlab_empty_unit;' | $(CC) -x c -c -o $@ -

$(BUILD)/netd: $(BUILD)/obj/netd/main.o $(BUILD)/libnetd.a $(BUILD)/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_NETD) $(LIBS_COMMON) $(LIBS_EXTRA)

$(BUILD)/labd: $(BUILD)/obj/labd/main.o $(BUILD)/liblabd.a $(BUILD)/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_LABD) $(LIBS_COMMON) $(LIBS_EXTRA)

$(BUILD)/labctl: $(BUILD)/obj/cli/main.o $(BUILD)/libcli.a $(BUILD)/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CLI) $(LIBS_COMMON) $(LIBS_EXTRA)

$(BUILD)/vlab-gate: $(BUILD)/obj/gate/main.o $(BUILD)/libgate.a $(BUILD)/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON) $(LIBS_EXTRA)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/san/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC san  $@")
	$(Q)$(CC) $(CPPFLAGS) $(WFLAGS) -O1 -g $(SANFLAGS) -MMD -MP -c -o $@ $<

# --- tests -----------------------------------------------------------------
# One Check runner; every tests/unit/check_NAME.c provides make_NAME_suite(). The other
# tests/unit/*.c are helpers linked in with them (the fake lab of the labd suites).
UNIT_SRC := $(sort $(wildcard tests/unit/check_*.c))
UNIT_AUX := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
SUITES   := $(patsubst tests/unit/check_%.c,%,$(filter-out tests/unit/check_all.c,$(UNIT_SRC)))

$(BUILD)/san/tests/suites.h: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach s,$(SUITES),'SUITE($(s))') > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/san/obj/tests/unit/check_all.o: $(BUILD)/san/tests/suites.h
$(BUILD)/san/obj/tests/unit/check_all.o: CPPFLAGS += -I$(BUILD)/san/tests

SAN_LIBS := $(BUILD)/san/libnetd.a $(BUILD)/san/liblabd.a $(BUILD)/san/libcli.a $(BUILD)/san/libgate.a \
            $(BUILD)/san/libcommon.a
$(BUILD)/check_unit: $(call sobj,$(UNIT_SRC) $(UNIT_AUX)) $(SAN_LIBS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(SAN_LIBS) $(call pc_libs,check $(ALL_PKGS)) $(LIBS_EXTRA)

# The sanitized daemons are the ones the namespace tests run.
$(BUILD)/san/netd: $(BUILD)/san/obj/netd/main.o $(BUILD)/san/libnetd.a $(BUILD)/san/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_NETD) $(LIBS_COMMON) $(LIBS_EXTRA)
$(BUILD)/san/labd: $(BUILD)/san/obj/labd/main.o $(BUILD)/san/liblabd.a $(BUILD)/san/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_LABD) $(LIBS_COMMON) $(LIBS_EXTRA)
$(BUILD)/san/labctl: $(BUILD)/san/obj/cli/main.o $(BUILD)/san/libcli.a $(BUILD)/san/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_CLI) $(LIBS_COMMON) $(LIBS_EXTRA)
$(BUILD)/san/vlab-gate: $(BUILD)/san/obj/gate/main.o $(BUILD)/san/libgate.a $(BUILD)/san/libcommon.a
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(LIBS_COMMON) $(LIBS_EXTRA)

# Test tools may use the daemons' modules (drivers for smoke tests).
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libnetd.a $(BUILD)/liblabd.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -o $@ $^ $(call pc_libs,$(ALL_PKGS)) $(LIBS_EXTRA)
$(BUILD)/bench/%: bench/%.c $(BUILD)/libnetd.a $(BUILD)/liblabd.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -o $@ $^ $(call pc_libs,$(ALL_PKGS)) $(LIBS_EXTRA)

deps:
	$(Q)scripts/install-deps build
deps-check:
	$(Q)scripts/install-deps check

tests: $(BUILD)/check_unit $(BUILD)/san/netd $(BUILD)/san/labd $(BUILD)/san/labctl \
       $(BUILD)/san/vlab-gate $(PROGS) $(TOOLS)

# `make check` installs what it needs, builds, runs every test. Each stage prints its
# own summary; the overall status is non-zero if any stage failed.
check: deps-check
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run-all

# `make demo`: a 3-student class in network namespaces, left running; `make demo-stop`.
demo:
	$(Q)scripts/install-deps demo
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo start

demo-stop:
	$(Q)BUILD=$(BUILD) scripts/demo stop

unit: $(BUILD)/check_unit
	$(Q)$(BUILD)/check_unit

# `make coverage`: gcov line coverage of labd/ops.c, task.c and reconcile.c by their unit
# tests (a build of its own in $(BUILD)/cov).
coverage:
	$(Q)BUILD=$(BUILD) tests/unit/coverage

# The gate's users and group are the operator's to create (docs/operator-guide.md, "The
# gate"): install puts files in place and never edits /etc/passwd or /etc/group.
install: $(PROGS)
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/vlab $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(LIBEXECDIR)/vlab
	$(Q)install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/vlab/gate
	$(Q)install -m 0755 $(BUILD)/netd $(BUILD)/labd $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0755 $(BUILD)/labctl $(DESTDIR)$(BINDIR)/
	$(Q)install -m 0755 $(BUILD)/vlab-gate $(DESTDIR)$(LIBEXECDIR)/vlab/
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/vlab/gate/sshd_config ] || sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' configs/gate/sshd_config > $(DESTDIR)$(SYSCONFDIR)/vlab/gate/sshd_config
	$(Q)for m in docs/*.1; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man1/ || true; done
	$(Q)for m in docs/*.8; do [ -e "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/ || true; done
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/vlab/lab.conf ] || install -m 0644 configs/lab.conf $(DESTDIR)$(SYSCONFDIR)/vlab/lab.conf
	$(Q)for u in configs/systemd/*.service; do [ -e "$$u" ] && sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
	  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' "$$u" > $(DESTDIR)$(UNITDIR)/$$(basename $$u) || true; done

clean:
	rm -rf $(BUILD)

FORCE:
.PHONY: all check tests unit coverage install clean deps deps-check demo demo-stop FORCE
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# `make fuzz`: builds the libFuzzer targets (fuzz/, clang) and runs each for FUZZ_SECONDS,
# two at a time; crashing inputs are kept in $(BUILD)/fuzz/crashes/.
FUZZ_SECONDS ?= 600
fuzz:
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=2 fuzz/run
.PHONY: fuzz
