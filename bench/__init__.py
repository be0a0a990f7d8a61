"""HTTP benchmarks: settings, URLs and helpers used only by bench/run.sh."""
