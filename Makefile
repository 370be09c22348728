# ScaleMalNet — the two commands a user needs:
#   make demo   set up the host, build everything, analyse the bundled samples in real VMs
#   make test   run the whole test suite (unit, fuzz seeds, real-VM integration tests)
# Everything else here is a step of those two.

SHELL      := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO         ?= go
BUILD      ?= build
IMAGE_DIR  := $(BUILD)/image
SAMPLES_DIR:= $(BUILD)/samples
BIN        := $(BUILD)/bin/scalemalnet
TEST_FLAGS ?= -count=1 -timeout 85m

.PHONY: all setup build agent image samples corpus models demo test unit bench bench-models fuzz clean

all: build

setup:            ## install and start what the host needs (apt packages, libvirtd, Go modules)
	scripts/setup-host.sh
	$(GO) mod download

build:            ## the scalemalnet binary (CLI + orchestrator + built-in plugins), the example external plugin and the YARA plugin (needs libyara-dev)
	$(GO) build -o $(BIN) ./cmd/scalemalnet
	$(GO) build -o $(BUILD)/plugins/syscall-heuristic ./plugins/examples/syscall-heuristic
	$(GO) build -o $(BUILD)/plugins/yara ./featurizers/yara/cmd/yara-featurizer

image: setup      ## the guest image: Debian kernel + initramfs with the agent as /init
	vmimages/build.sh $(IMAGE_DIR)

samples:          ## the bundled harmless sample programs, built for the guest
	samples/build.sh $(SAMPLES_DIR)
	samples/build-guest.sh $(SAMPLES_DIR)

corpus: build image samples   ## run Atomic Red Team's Linux tests and the Debian userland in real VMs; keep the traces (build/corpus; resumes; docs/corpus.md)
	scripts/corpus.sh build/corpus

models: build corpus   ## train the default models from ../shared/datasets and the corpus (build/models)
	scripts/models.sh build/models

demo: setup build image samples models   ## analyse every bundled sample end to end
	scripts/demo.sh

test: setup image samples   ## the whole suite; CI runs exactly this (screenshots: build/test-artifacts)
	SCALEMALNET_IMAGE_DIR=$(abspath $(IMAGE_DIR)) SCALEMALNET_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  SCALEMALNET_ARTIFACTS=$(abspath $(BUILD))/test-artifacts \
	  $(GO) test $(TEST_FLAGS) ./...

unit:             ## unit tests only (no VMs)
	$(GO) test -count=1 -short ./...

bench: setup image samples   ## benchmarks (VM lifecycle, tracer vs strace); see docs/benchmarks.md
	SCALEMALNET_IMAGE_DIR=$(abspath $(IMAGE_DIR)) SCALEMALNET_SAMPLES_DIR=$(abspath $(SAMPLES_DIR)) \
	  $(GO) test -run '^$$' -bench . -benchtime 5x -timeout 60m ./...

bench-models: build   ## inference of every classifier kind, plugin vs in-process (scripts/bench-models.sh)
	scripts/bench-models.sh

clean:
	rm -rf $(BUILD)
