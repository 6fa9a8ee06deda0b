"""hemesh's test suite (a package, so that pytest puts the project root, not tests/, on sys.path:
tests/transport/ etc. would otherwise shadow the real packages as namespace packages)."""
