"""Pure rules of monitoring: no I/O, callable with plain values."""
