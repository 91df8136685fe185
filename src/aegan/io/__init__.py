"""Files: written atomically, read back untrusted (a size cap, a kind of file, text or JSON),
and the run's log file."""
