"""Benchmarks of the admin's lists and exports on a big shop (not part of the test suite)."""
