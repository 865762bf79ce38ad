"""Eldercare use cases beyond the allowance: assessments, institutions, home care, rosters.

One function per use case; the caller (a router or a handler) commits, so a
change and the events describing it commit together.
"""
