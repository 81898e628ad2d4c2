# Shortcuts; the scripts are what the README and CI use.
.PHONY: run test bench bench-http bench-rx embed
run:
	./scripts/run.sh
test:
	./scripts/test.sh
bench: bench-http bench-rx
bench-http:
	./bench/http.sh
bench-rx:
	./bench/rx.sh
embed:
	./scripts/embed.sh
