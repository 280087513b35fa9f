"""Checks of a portfolio against its schema: columns, row rules, repeated ids, the failures log."""
