"""The benchmark harness behind `phextcc bench`: compile a suite at every tier, check each
result against numpy, simulate for cycles, time natively, time the peers (numpy, Numba,
C) and the hand-tuned twins, report, and compare against a stored baseline."""
