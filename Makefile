# xstack — every entry point a person or CI needs.
#   make          set up, build and compile every org in parameters/ to dist/
#   make test     set up, type-check the tests and run every test (unit, golden, dist freshness, cfn-lint, checkov, moto rollouts, browser)
#   make demo     deploy the example org to a local AWS (moto on 127.0.0.1) and show each pipeline account's stacks and outputs
#   make bench    benchmark the compiler; make bench-rollout: the deployer against moto; make bench-rollout-time:
#                 modelled StackSets rollout time for 100 and 1,000 accounts (bench/RESULTS.md)

NODE_STAMP := node_modules/.package-lock.stamp
VENV       := .venv
VENV_STAMP := $(VENV)/.requirements.stamp
BUILD      := .build/src/cli.js
SOURCES    := $(shell find src templates -name '*.ts') tsconfig.json

.PHONY: all setup venv chromium build compile test demo bench bench-rollout bench-rollout-time clean
.DEFAULT_GOAL := all

all: compile

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV_STAMP): test/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r test/requirements.txt
	@touch $@

# moto's server for --local and `xstack local` (and the tools the tests run): .venv/ from the pinned requirements.
venv: $(VENV_STAMP)

# A Chromium for the report's browser test (playwright-core drives it; it never downloads a browser): the first one
# installed where Debian and Google put it, else Debian's, installed with apt-get (as root). Elsewhere (macOS, no
# root): make test CHROMIUM=/path/to/chromium-or-chrome. Never a make target: a path with spaces (macOS's
# "/Applications/Google Chrome.app/…") would be split into several; one given that is not there is refused, not
# answered with apt-get.
CHROMIUM ?= $(or $(firstword $(wildcard /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable)),/usr/bin/chromium)
CHROMIUM_GIVEN := $(filter command line environment,$(origin CHROMIUM))
chromium:
	@if [ -f "$(CHROMIUM)" ] && [ -x "$(CHROMIUM)" ]; then :; \
	elif [ -n "$(CHROMIUM_GIVEN)" ]; then echo "make: CHROMIUM=$(CHROMIUM) is not an executable file; name the Chromium or Chrome program (on macOS: CHROMIUM=\"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome\")" >&2; exit 1; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; fi

setup: $(NODE_STAMP) $(VENV_STAMP) chromium

# Built beside .build/ and swapped in whole, so that the CLI runs as it was while tsc works (or after it fails).
$(BUILD): $(NODE_STAMP) $(SOURCES)
	rm -rf .build.new .build.old
	npx tsc -p tsconfig.json --outDir .build.new
	chmod +x .build.new/src/cli.js
	if [ -e .build ]; then mv .build .build.old; fi
	mv .build.new .build
	rm -rf .build.old
	@touch $@

build: $(BUILD)

compile: $(BUILD)
	node $(BUILD) schema --out parameters/org.schema.json
	node $(BUILD) compile

test: $(NODE_STAMP) $(VENV_STAMP) chromium $(BUILD)
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p test/tsconfig.json
	@rm -f .build/test-results.json
	XSTACK_CFN_LINT=$(VENV)/bin/cfn-lint XSTACK_CHECKOV=$(VENV)/bin/checkov XSTACK_MOTO_SERVER=$(VENV)/bin/moto_server XSTACK_CHROMIUM="$(CHROMIUM)" npx vitest run --config test/vitest.config.ts \
	  --reporter=default --reporter=json --outputFile.json=.build/test-results.json; \
	  status=$$?; node test/summary.mjs .build/test-results.json || status=1; exit $$status

demo: $(NODE_STAMP) $(VENV_STAMP) $(BUILD)
	node $(BUILD) deploy parameters/example.yaml --local

bench: $(BUILD)
	node bench/compile.mjs

bench-rollout: $(NODE_STAMP) $(VENV_STAMP) $(BUILD)
	XSTACK_MOTO_SERVER=$(VENV)/bin/moto_server node bench/rollout.cjs

# Modelled rollout time (test/support/operation-time.ts): sizes as ARGS, e.g. make bench-rollout-time ARGS='100 300'.
bench-rollout-time: $(NODE_STAMP) $(VENV_STAMP) $(BUILD)
	XSTACK_MOTO_SERVER=$(VENV)/bin/moto_server XSTACK_BENCH_ONE_RUN=$${XSTACK_BENCH_ONE_RUN:-1} XSTACK_BENCH_EXTRAPOLATE=$${XSTACK_BENCH_EXTRAPOLATE:-1000} node bench/rollout-time.cjs $(or $(ARGS),3 100)

clean:
	rm -rf .build .build.new .build.old $(VENV) node_modules
