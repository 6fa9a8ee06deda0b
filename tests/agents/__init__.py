"""Tests of agents (a package, so that its modules are tests.agents.test_x: plain names that
cannot collide with another folder's)."""
