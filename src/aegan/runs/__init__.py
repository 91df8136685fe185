"""A finished run read back for ``aegan.load_run`` and the sweeps: its record of settings and
networks, its data, its inputs, its figures and its TensorBoard events."""
