"""Tests that run agents in containers, one per agent (a package: tests.containers.test_x)."""
