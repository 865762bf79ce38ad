"""Minzheng platform code: what every service uses, and nothing domain-specific."""
