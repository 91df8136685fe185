"""Stop signals around the work: those that arrive while a command starts, a sweep's stop
passed on to its jobs, and the child runs a script starts."""
