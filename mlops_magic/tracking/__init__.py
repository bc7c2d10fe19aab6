"""Recording: the session (runs, stages, params, metrics), stage-cell parsing, fingerprints, read queries."""
