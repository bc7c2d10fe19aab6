"""The IPython face: the ``%mlops`` magics, stage-cell hooks and the subcommand table."""
