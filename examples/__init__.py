"""Worked examples for greenbench users (see examples/README.md)."""
