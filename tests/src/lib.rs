//! End-to-end test support: shared fixtures for the tests in `tests/tests/`.
