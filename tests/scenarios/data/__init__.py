"""Tests of scenarios.data (a package: its modules are tests.scenarios.data.test_x)."""
