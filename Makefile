# Turnpike make targets. `make run` and `make test` work on a fresh Debian machine with Swift:
# they install the system packages they need (apt-get, only when missing).

SWIFT       ?= swift
CONFIG      ?= kong.yaml.example
RELEASE_BIN := .build/release/turnpike
# System packages the build and the tests need (Debian names).
BUILD_PKGS  := libyaml-dev libpcre2-dev pkg-config
TEST_PKGS   := $(BUILD_PKGS) python3
BENCH_PKGS  := $(BUILD_PKGS) python3

.PHONY: all deps deps-test deps-bench build release run test test-unit test-e2e fmt lint check-config \
        bench bench-config clean

all: build

# Installs the listed Debian packages that are missing (apt-get update once, only if needed).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PKGS))

deps-test:
	$(call apt_install,$(TEST_PKGS))

deps-bench:
	$(call apt_install,$(BENCH_PKGS))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Today: validates and renders the example. The gateway itself (`turnpike start` + `turnpike mock`)
# arrives with the proxy engine (issue #3).
run: release
	$(RELEASE_BIN) validate $(CONFIG)
	$(RELEASE_BIN) render $(CONFIG)

test: deps-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-unit: deps-test
	$(SWIFT) test --skip EndToEnd

test-e2e: deps-test
	$(SWIFT) test --filter EndToEnd

check-config: release
	$(RELEASE_BIN) validate $(CONFIG)

fmt:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

# Config-scale benchmark (never part of `make test`): 10k services, 10k routes, 100k consumers.
bench-config: release deps-bench
	python3 bench/config_scale.py --binary $(RELEASE_BIN)

bench: bench-config

clean:
	rm -rf .build bench-out
