# Greenlane: `make demo` runs the main job, `make test` the whole suite. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install up down status lint unit integration test-faults test demo demo-quick bench bench-streams bench-routing bench-plan bench-api clean-data

help:
	@echo "make demo   - the city lockdown scenario through the whole system under Greenlane and both baselines,"
	@echo "              then its report; the dashboard of the Greenlane run stays up (Ctrl-C stops it)"
	@echo "make demo-quick - one planning round on generated demand (about a minute)"
	@echo "make test   - lint, type-check, unit, integration and fault tests on the real servers"
	@echo "make test-faults - faults while events flow, load and replay only"
	@echo "make up | down | status - the local Kafka and PostGIS servers"
	@echo "make bench  - benchmarks: bench-streams (stream throughput, latency), bench-plan (city-scale plan), bench-routing (vs best-known, PyVRP, VROOM)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up:
	bash infra/scripts/up.sh

down:
	bash infra/scripts/down.sh

status:
	bash infra/scripts/status.sh

lint: $(STAMP)
	$(BIN)/ruff check services streams optimizer api infra tests bench
	$(BIN)/mypy services optimizer api streams infra

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP) up
	$(BIN)/pytest -q tests/integration tests/e2e

# Faults while events flow, load and replay (issue 7): the fault tests start a Kafka and a PostGIS of their own
# (.local/faults, ports 29192/25532) and stop them at the end, since they stop and restart them.
test-faults: $(STAMP) up
	$(BIN)/pytest -q tests/faults

test: lint unit integration test-faults

# The main job: two simulated weeks of Hồ Chí Minh City (scenarios/city.json) under each policy, Greenlane last so
# its API and dashboard keep running; about an hour at the default speed (a simulated day in 10 s of wall time,
# the clock standing still while plans are made).
DEMO_SPEED ?= 8640
demo: $(STAMP) up
	$(BIN)/greenlane load-geodata --provinces 79
	$(BIN)/greenlane scenario run --size city --speed $(DEMO_SPEED) --policies proportional,fcfs,greenlane --keep-running

demo-quick: $(STAMP) up
	$(BIN)/greenlane load-geodata --provinces 79
	$(BIN)/greenlane topics create
	$(BIN)/greenlane demo

bench: bench-streams bench-plan bench-routing bench-api

bench-streams: $(STAMP) up
	$(BIN)/python -m bench.streams $(BENCH_ARGS)

# Routing quality against best-known solutions, PyVRP and VROOM (issue #4); no servers needed. About 40 min with the
# defaults; BENCH_ARGS="--quick" for a 2-minute look, or e.g. BENCH_ARGS="--instances r1_10_1".
bench-routing: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.routing $(BENCH_ARGS)

# A Hồ Chí Minh City-scale plan: ~3,000 stops, 300 vehicles, 22 districts, against 60 s (issue #4); no servers.
bench-plan: $(STAMP)
	$(BIN)/python -m bench.city_plan $(BENCH_ARGS)

# API latency and throughput under a real HTTP load generator (issue #5): hey (built with Go into ~/.cache) against
# the API with 3,000 zones loaded; zones GeoJSON and roll-up p99 against 200 ms, demand submissions against 1,000/s.
bench-api: $(STAMP) up
	$(BIN)/python -m bench.api $(BENCH_ARGS)

clean-data: down
	rm -rf .local
