"""Pure statistics over columns: reference profiles and the two-sample tests drift is measured with.

No store, no IPython: numpy and scipy only, so the registry (which profiles training data at
registration) and monitoring (which tests current data against it) share them without a cycle.
"""
