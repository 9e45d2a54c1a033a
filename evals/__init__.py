"""Scenarios, metrics and benchmarks: how we know Twinsight got better or worse."""
