# Turnpike make targets. `make run` and `make test` work on a fresh Debian machine with Swift:
# they install the system packages they need (apt-get, only when missing).

SWIFT       ?= swift
CONFIG      ?= kong.yaml.example
RELEASE_BIN := .build/release/turnpike
# System packages the build and the tests need (Debian names).
BUILD_PKGS  := libyaml-dev libpcre2-dev pkg-config
TEST_PKGS   := $(BUILD_PKGS) python3 redis-server
BENCH_PKGS  := $(BUILD_PKGS) python3

.PHONY: all deps deps-test deps-bench build release run test test-unit test-e2e fmt lint check-config \
        bench bench-config bench-proxy bench-router bench-reload profile-proxy bench-mallocs demo-cluster clean

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

# The gateway on kong.yaml.example (proxy :8000, admin 127.0.0.1:8001) with `turnpike mock` as the
# upstream on 127.0.0.1:9000. Ctrl-C stops both.
run: release
	$(RELEASE_BIN) validate $(CONFIG)
	@echo "mock upstream on 127.0.0.1:9000; gateway on 0.0.0.0:8000 and 0.0.0.0:8443 (TLS, self-signed certificate), admin on 127.0.0.1:8001 (Ctrl-C stops both)"
	@$(RELEASE_BIN) mock --listen 127.0.0.1:9000 & mock=$$!; \
	trap 'kill $$mock 2>/dev/null' EXIT INT TERM; \
	$(RELEASE_BIN) start --config $(CONFIG)

# A fleet on loopback: redis-server + three nodes on the same file, one rate limit for all of
# them, Redis stopped and restarted mid-way (demo/cluster.sh).
demo-cluster: release
	$(call apt_install,redis-server curl)
	bash demo/cluster.sh $(RELEASE_BIN)

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

# Proxy benchmark (never part of `make test`): Turnpike vs nginx as reverse proxy, same nginx
# upstream, wrk load; proxy pinned to core 0, wrk + upstream to core 1. Installs nginx and wrk if
# missing. Smoke test: `python3 bench/proxy_bench.py --quick`.
# Router micro-benchmark: median match time with 10, 1k and 10k routes.
bench-router: deps
	$(SWIFT) build -c release --product turnpike-bench
	.build/release/turnpike-bench

# Reload benchmark: SIGHUP-to-in-force time on the config-scale file, p99 under repeated reloads.
bench-reload: release deps-bench
	python3 bench/reload_bench.py --binary $(RELEASE_BIN)

bench-proxy: release deps-bench
	python3 bench/proxy_bench.py --binary $(RELEASE_BIN)

# Allocations per proxied GET, plain and key-auth routes (an LD_PRELOAD counter; nginx upstream).
bench-mallocs: release deps-bench
	$(call apt_install,gcc nginx)
	bash bench/malloc_per_request.sh $(RELEASE_BIN)

# Where the proxy's user time goes under load (perf record on the gateway; nginx upstream + wrk).
profile-proxy: release deps-bench
	$(call apt_install,linux-perf nginx wrk)
	bash bench/profile_proxy.sh $(RELEASE_BIN)

bench: bench-config bench-router bench-proxy bench-reload

clean:
	rm -rf .build bench-out
