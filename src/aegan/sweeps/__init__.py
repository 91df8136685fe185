"""A sweep's folder read back: its jobs, their figures and overrides, the jobs it did not run,
and what it says at its end."""
