"""The ``mlops`` command: one module per command group, all on the same core as the magics."""
