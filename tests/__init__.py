"""hemesh's test suite. Every test folder is a package (tests.transport, tests.scenarios.data,
...), so that pytest puts the project root, not tests/, on sys.path (tests/transport/ etc. would
otherwise shadow the real packages as namespace packages) and test modules need no prefix to
keep their names unique (tests.transport.test_exports vs tests.topologies.test_exports)."""
