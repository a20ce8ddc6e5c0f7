"""Real servers for the tests, started on loopback in fixtures: PostgreSQL and moto's S3.

Tests talk to the same kinds of server production does instead of mocks, so a fixture that
cannot start its server fails the test with the reason (and the package CI must install);
it never skips. Use them from a test module with::

    pytest_plugins = ("tests.servers.postgres", "tests.servers.moto")
"""
