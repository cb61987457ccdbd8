"""`make bench`: timings and peak memory at scale.

Not shipped in the wheel; run from the repository root (`python -m benchmarks.bench`).
"""
