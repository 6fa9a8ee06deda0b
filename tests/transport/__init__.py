"""Tests of transport (a package: its modules are tests.transport.test_x)."""
