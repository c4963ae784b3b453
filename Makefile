# The two commands of the README, plus helpers. Each installs what it needs (scripts/setup.sh).
.PHONY: demo test sanitize bench clean

demo:  ## build funnelkit into .venv and run the demo analysis
	scripts/setup.sh
	.venv/bin/python -m funnelkit.demo

test:  ## C++ and Python tests, notebooks, doctests, type check
	scripts/test.sh

sanitize:  ## C++ tests under ASan + UBSan
	scripts/sanitize.sh

BENCH ?= shapes
bench:  ## BENCH=shapes (four funnel shapes vs NumPy/SciPy), analytics, events (fit_funnel vs pandas/DuckDB), scoring (events to scores vs pandas + scikit-learn) logistic (the fit vs scikit-learn) simulate (the shop simulation vs NumPy and a bare C++ loop) or forecast (the expected path vs NumPy, a 1,000-scenario grid vs a loop); BENCH_ARGS=--large adds the large sizes
	scripts/setup.sh --bench
	.venv/bin/python benchmarks/bench_$(BENCH).py $(BENCH_ARGS)

clean:
	rm -rf build .venv
