"""The cross-language runner: one adapter per consumer, shared cases, bit-level comparison.

Modelled on Apache Arrow's integration runner (one small adapter per language, every case run
against every consumer) and protobuf's conformance tests (long-lived programs under test that
read one request per line).
"""
