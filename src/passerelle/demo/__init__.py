"""Synthetic, deterministic demo data (for `make demo`, tests and benchmarks)."""
