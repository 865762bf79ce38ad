"""Pure rules of the registry: no I/O, callable with plain values."""
