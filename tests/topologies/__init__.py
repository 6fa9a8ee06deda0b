"""Tests of topologies (a package: its modules are tests.topologies.test_x)."""
