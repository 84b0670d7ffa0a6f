# The commands the README names.
.PHONY: run test bench fuzz fuzz-seeds

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

bench:
	swift build -c release --product ingest-bench
	.build/release/ingest-bench ../shared/fixtures/threatmapper/agent-report.json 2000

# Each fuzz target for SECONDS (default 600); see scripts/fuzz.sh.
fuzz:
	scripts/fuzz.sh $(SECONDS)

fuzz-seeds:
	scripts/fuzz.sh --seeds
