# SPDX-License-Identifier: GPL-2.0-only
# vfio-dmabuf: VFIO_IOMMU_MAP_DMABUF, its library and the QEMU test harness.
#
#   make demo    boot the default VM and show edu DMA into a dma-buf
#   make check   host unit tests + the guest suite on the default matrix
#   make upstream-series   the kernel patches for upstream, from this code
#   make help    everything else
#
# Downloads and builds go to $(VFIO_DMABUF_CACHE), outside the tree.
#
# Installing from source (PREFIX=/usr/local, LIBDIR=$(PREFIX)/lib, DESTDIR):
# 'make install' puts the shared (SONAME libvfio-dmabuf.so.0) and static
# libraries, the headers (the uapi header as
# vfio-dmabuf/uapi/linux/vfio_dmabuf.h), vfio-dmabuf.pc, the vfio-dmabuf
# tool and vfio-dmabuf(1) there, 'make uninstall' removes them, 'make
# install-dkms' adds the DKMS source tree /usr/src/vfio-dmabuf-VERSION
# (then: dkms install vfio-dmabuf/VERSION).

XDG_CACHE_HOME ?= $(HOME)/.cache
VFIO_DMABUF_CACHE ?= $(XDG_CACHE_HOME)/vfio-dmabuf
export VFIO_DMABUF_CACHE

H := tests/harness
SHELL := /bin/bash

# Narrowing knobs, passed through to the harness.
KERNELS ?= 6.12 6.1
MACHINES ?= x86_64-intel-iommu x86_64-virtio-iommu aarch64-smmuv3
export KERNELS MACHINES TEST HOST_TESTS LOGDIR TIMEOUT ACCEL PACKAGE_CHECKS README_CHECKS

# check-debug: the guest suite on kernels built with KASAN, lockdep,
# kmemleak, DMABUF_DEBUG, DMA_API_DEBUG (qemu-configs/debug-kernel.config),
# with the torture tests and the fuzzer at full size.
DEBUG_KERNELS ?= 6.12-debug
DEBUG_MACHINES ?= x86_64-intel-iommu aarch64-smmuv3
DEBUG_TORTURE_SCALE ?= 10
DEBUG_FUZZ_CALLS ?= 1000000

# vm: one program in one machine (make vm PROG=... [ARGS=...]).
MACHINE ?= x86_64-intel-iommu
KERNEL ?= 6.12
PROG ?=
ARGS ?=

# demo: one machine, one kernel.
DEMO_MACHINE ?= x86_64-intel-iommu
DEMO_KERNEL ?= 6.12
IOVA ?=

.PHONY: help deps check check-host check-debug debug-kernels demo vm bench \
	kernels kernels-lock modules checkpatch reliability performance clean \
	build install uninstall install-dkms uninstall-dkms deb upstream-series

help:
	@sed -n 's/^#   //p' Makefile
	@echo "  make deps          install missing Debian packages (root)"
	@echo "  make install       libraries, headers, .pc, the tool and its man page"
	@echo "                     (PREFIX=/usr/local LIBDIR=PREFIX/lib DESTDIR=); make uninstall"
	@echo "  make install-dkms  the DKMS source tree /usr/src/vfio-dmabuf-VERSION"
	@echo "  make deb           the Debian packages (library, -dev, tools, dkms) into"
	@echo "                     DEB_OUT=\$$VFIO_DMABUF_CACHE/deb (printed)"
	@echo "  make kernels       fetch+unpack the Debian kernel packages of kernels.lock"
	@echo "  make kernels-lock  move qemu-configs/kernels.lock to the newest packages"
	@echo "  make modules       build vfio_iommu_type1.ko + test exporter for KERNELS"
	@echo "  make check-host    host unit tests only"
	@echo "  make check-debug   the guest suite on KASAN/lockdep/kmemleak kernels"
	@echo "  make debug-kernels build those kernels (cached)"
	@echo "  make bench         MAP_DMABUF vs MAP_DMA and the IOMMU floor, one guest per machine"
	@echo "  make performance   docs/performance.md from a bench log (LOGDIR=)"
	@echo "  make vm PROG=p     run the static program p in a test VM, ARGS='...',"
	@echo "                     MACHINE=, KERNEL=; exits with p's status"
	@echo "  make checkpatch    checkpatch.pl --strict on the kernel code"
	@echo "  make upstream-series  the series for upstream (upstream/README.md)"
	@echo "  narrow: KERNELS=6.12 MACHINES=aarch64-smmuv3 TEST='baseline/*'"

deps:
	@$(H)/deps.sh

check: deps
	@$(H)/check.sh

check-debug: deps
	@KERNELS="$(DEBUG_KERNELS)" MACHINES="$(DEBUG_MACHINES)" HOST_TESTS=0 README_CHECKS=0 PACKAGE_CHECKS=0 \
	 MEMORY=3G TIMEOUT=$${TIMEOUT:-5400} VFD_TORTURE_SCALE=$(DEBUG_TORTURE_SCALE) \
	 VFD_FUZZ_CALLS=$(DEBUG_FUZZ_CALLS) $(H)/check.sh

debug-kernels: deps
	@for s in $(DEBUG_KERNELS); do for a in amd64 arm64; do \
		$(H)/build-debug-kernel.sh $${s%-debug} $$a || exit 1; done; done

check-host: deps
	@$(MAKE) -s -C tests/host check O=$(VFIO_DMABUF_CACHE)/build/host

demo: deps
	@$(H)/demo.sh $(DEMO_KERNEL) $(DEMO_MACHINE) $(IOVA)

vm: deps
	@MACHINE="$(MACHINE)" KERNEL="$(KERNEL)" $(H)/vm.sh "$(PROG)" $(ARGS)

# bench: one guest run per machine, on the first kernel of KERNELS: the
# x86_64 intel-iommu and aarch64 SMMUv3 machines, or those MACHINES= names.
# BENCH_ARGS= go to the guest program (tests/bench/map_bench.c).
BENCH_MACHINES := x86_64-intel-iommu aarch64-smmuv3
bench: deps
	@$(H)/bench.sh $(firstword $(KERNELS)) \
		$(if $(filter file,$(origin MACHINES)),$(BENCH_MACHINES),$(MACHINES))

kernels: deps
	@for s in $(KERNELS); do for a in amd64 arm64; do \
		$(H)/fetch-kernel.sh $$s $$a || exit 1; done; done

kernels-lock:
	@$(H)/kernels-lock.sh

modules: kernels
	@for s in $(KERNELS); do for a in amd64 arm64; do \
		$(H)/build-modules.sh $$s $$a || exit 1; \
		echo "built: $(VFIO_DMABUF_CACHE)/build/$$s-$$a/*.ko"; done; done

# The kernel code as a 'git format-patch' series against Debian's
# linux-source-6.12, generated from the code as it is (upstream/README.md);
# prints the directory it wrote.
upstream-series: deps
	@upstream/series.sh

# checkpatch.pl of linux-source-6.12 (LINUX_SOURCE= another tree)
checkpatch:
	@src=$${LINUX_SOURCE:-$$(. $(H)/common.sh; source_dir 6.12)}; \
	 $(MAKE) -s -C vfio checkpatch LINUX_SOURCE=$$src && \
	 $(MAKE) -s -C tests/exporter checkpatch LINUX_SOURCE=$$src

# docs/reliability.md from a check log directory (the torture and fuzz
# figures): make reliability LOGDIR=~/.cache/vfio-dmabuf/logs/check-DATE
# (OUT= writes another file)
reliability: OUT_FILE = $(or $(OUT),docs/reliability.md)
reliability:
	@[ -n "$(LOGDIR)" ] || { echo "usage: make reliability LOGDIR=<a check log directory> [OUT=file]"; exit 2; }
	@$(H)/reliability-report.sh $(LOGDIR) > $(OUT_FILE).tmp && mv $(OUT_FILE).tmp $(OUT_FILE)
	@echo "wrote $(OUT_FILE) from $(LOGDIR)"

# docs/performance.md from the log directories of 'make bench' (one or
# more; the figures of every machine):
# make performance LOGDIR=~/.cache/vfio-dmabuf/logs/bench-DATE [OUT=file]
performance: OUT_FILE = $(or $(OUT),docs/performance.md)
performance:
	@[ -n "$(LOGDIR)" ] || { echo "usage: make performance LOGDIR=<bench log directory...> [OUT=file]"; exit 2; }
	@$(H)/performance-report.sh $(LOGDIR) > $(OUT_FILE).tmp && mv $(OUT_FILE).tmp $(OUT_FILE)
	@echo "wrote $(OUT_FILE) from $(LOGDIR)"

# The release: the library's VERSION (libvfio-dmabuf/Makefile).
VERSION := $(shell sed -n 's/^VERSION := //p' libvfio-dmabuf/Makefile)
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
DKMS_SRCDIR ?= /usr/src
# where 'make build' and 'make install' compile
O ?= $(VFIO_DMABUF_CACHE)/build/install
INSTALL_VARS = O="$(O)" PREFIX="$(PREFIX)" LIBDIR="$(LIBDIR)" DESTDIR="$(DESTDIR)"

build:
	@$(MAKE) -C libvfio-dmabuf $(INSTALL_VARS) lib $(O)/vfio-dmabuf

install:
	@$(MAKE) -C libvfio-dmabuf $(INSTALL_VARS) install

uninstall:
	@$(MAKE) -C libvfio-dmabuf $(INSTALL_VARS) uninstall

install-dkms:
	@$(MAKE) -s -C vfio install-dkms VFIO_DMABUF_RELEASE=$(VERSION) \
		DKMS_DIR="$(DESTDIR)$(DKMS_SRCDIR)/vfio-dmabuf-$(VERSION)"

uninstall-dkms:
	rm -rf "$(DESTDIR)$(DKMS_SRCDIR)/vfio-dmabuf-$(VERSION)"

# the Debian packages (debian/), built from a copy of the tree
DEB_OUT ?= $(VFIO_DMABUF_CACHE)/deb
deb: deps
	@$(H)/build-deb.sh $(DEB_OUT)

clean:
	@echo "nothing is built in the tree; the cache is $(VFIO_DMABUF_CACHE) (rm -rf it to start over)"
