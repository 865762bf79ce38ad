"""Pure rules of eldercare: no I/O, callable with plain values."""
