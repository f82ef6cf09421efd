"""Pure domain core: no AWS, no I/O."""
