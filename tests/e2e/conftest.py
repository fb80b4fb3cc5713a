"""Browser fixtures (browser, page, screenshot) live in tests/conftest.py, shared with other suites."""
