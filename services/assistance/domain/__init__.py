"""Pure rules of social assistance: no I/O, callable with plain values."""
