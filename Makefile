# Shortcuts; the scripts are what the README and CI use.
.PHONY: run test bench bench-http bench-rx bench-nft embed
run:
	./scripts/run.sh
test:
	./scripts/test.sh
bench: bench-http bench-rx bench-nft
bench-http:
	./bench/http.sh
bench-rx:
	./bench/rx.sh
bench-nft:
	./bench/nft.sh
embed:
	./scripts/embed.sh
