"""Helpers the test files share (fixtures live in conftest.py)."""
