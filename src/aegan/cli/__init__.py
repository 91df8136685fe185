"""The command line and Hydra: each config file checked as Hydra loads it, Hydra's flags,
folders and errors, a job's record and callbacks, and a user's mistake as one line and
exit code 2."""
