"""Readers and writers, one module per format; :mod:`vecloss.io.sources` picks by suffix."""
