"""The state machines: pure transition tables, no I/O, the only judge of what may follow what.

They sit below the models (whose constraints name their states) and every domain."""
