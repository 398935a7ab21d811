# mangoro's two commands on a fresh machine:
#   make demo   set up what is missing, install mangoro, run the Arrow echo example
#   make test   Go checks, then R CMD build + R CMD check --as-cran with the tests
# Others: make vendor / vendor-verify / install [LIB=dir] / check / bench / readme / fuzz

R       ?= R
RSCRIPT ?= Rscript
PKG     := mangoro
VERSION := $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL := $(PKG)_$(VERSION).tar.gz
CACHE   := $(CURDIR)/.cache
GO      ?= $(shell command -v go 2>/dev/null || ls -d /usr/lib/go-1.2[3-9]/bin/go 2>/dev/null | sort -V | tail -n1)

# One Go build cache for every step of a run (Go builds in tests, vignettes,
# checks), kept inside the checkout rather than under HOME.
export MANGORO_GOCACHE ?= $(CACHE)/go-build
export MANGORO_GO      ?= $(GO)
GOENV := GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GOWORK=off GOTELEMETRY=off \
         GOCACHE=$(MANGORO_GOCACHE) XDG_CONFIG_HOME=$(CACHE)/config GOPATH=$(CACHE)/gopath

.PHONY: setup demo install test go-check check vendor vendor-verify bench readme fuzz clean

setup:
	bash tools/setup-system.sh

# Installs from a built tarball, as users get it: R CMD build renders the
# vignettes (so vignette("mangoro") works), R CMD INSTALL installs them.
# The tarball is built under .cache/, not left in the checkout. LIB=dir
# installs into that library instead of the default one.
install: setup
	rm -rf $(CACHE)/install && mkdir -p $(CACHE)/install
	cd $(CACHE)/install && $(R) CMD build $(CURDIR)
	$(R) CMD INSTALL --no-test-load $(if $(LIB),-l $(LIB)) $(CACHE)/install/$(TARBALL)
	rm -rf $(CACHE)/install

demo: install
	$(RSCRIPT) inst/examples/arrow-echo.R

test: setup
	bash tools/test.sh

go-check:
	bash tools/test.sh --go-only

check:
	$(R) CMD build .
	_R_CHECK_CRAN_INCOMING_REMOTE_=false _R_CHECK_SYSTEM_CLOCK_=false R_RD4PDF="times,hyper" $(R) CMD check --as-cran $(TARBALL)

vendor:
	GO=$(GO) bash tools/vendor.sh

vendor-verify:
	GO=$(GO) bash tools/vendor.sh --verify

bench: install
	$(RSCRIPT) bench/run.R
	$(RSCRIPT) bench/versus.R

# The long fuzz runs: FUZZ_R mutated replies through the C decoder in child
# R processes, then FUZZ_GO executions of each Go fuzz target (one worker).
FUZZ_R  ?= 100000
FUZZ_GO ?= 1000000
GO_FUZZ_TARGETS := FuzzDecodeEnvelope FuzzDecodeRecord FuzzHandleMessage

fuzz: install
	$(RSCRIPT) tools/fuzz-r.R $(FUZZ_R)
	cd inst/go && for t in $(GO_FUZZ_TARGETS); do \
	  $(GOENV) $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZ_GO)x -parallel=1 ./pkg/rgoipc || exit 1; \
	done

readme: install
	$(RSCRIPT) -e 'rmarkdown::render("README.Rmd", output_format = rmarkdown::github_document(html_preview = FALSE))'

clean:
	rm -rf $(PKG).Rcheck $(PKG)_*.tar.gz
