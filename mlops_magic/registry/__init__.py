"""Models: numbered versions, aliases and promotion, quality gates, model files."""
