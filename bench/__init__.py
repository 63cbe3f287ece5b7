"""Benchmarks: each prints its figures and records the last run in bench/results/ (`make bench`)."""
