# The commands the README names.
.PHONY: run test bench

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

bench:
	swift build -c release --product ingest-bench
	.build/release/ingest-bench ../shared/fixtures/threatmapper/agent-report.json 2000
