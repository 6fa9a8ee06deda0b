"""Tests of scenarios (a package: its modules are tests.scenarios.test_x)."""
