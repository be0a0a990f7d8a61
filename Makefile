.PHONY: run test ci bench bench-compare schema contract-deep

run:     ## install and serve the API with demo data on http://127.0.0.1:8000
	bash scripts/run.sh

test:    ## install and run the whole test suite
	bash scripts/test.sh

ci:      ## the test suite on SQLite and on PostgreSQL, as CI runs it
	bash .ci/run

bench:   ## the HTTP benchmarks (gunicorn + wrk on loopback)
	bash bench/run.sh

bench-compare:  ## two checkouts side by side: make bench-compare A=dir B=dir [SCENARIOS="me feed"]
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make bench-compare A=dir B=dir [SCENARIOS=...]" >&2; exit 2; }
	bash bench/compare.sh "$(A)" "$(B)" $(SCENARIOS)

schema:  ## regenerate api_schema/openapi.yaml from the code
	.venv/bin/python backend/manage.py spectacular --fail-on-warn --validate --file api_schema/openapi.yaml

contract-deep:  ## Schemathesis: 100 examples per operation, then the stateful phase (minutes)
	CONTRACT_EXAMPLES=100 CONTRACT_STATEFUL=1 .venv/bin/python -m pytest tests/contract/test_schemathesis.py -q -p no:cacheprovider
