"""Pure domain logic: no I/O, standard library only, nothing else from weatheredge."""
