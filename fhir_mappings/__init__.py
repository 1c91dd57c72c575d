"""Data package (no code): instruments, terminology and example study protocols for edc."""
