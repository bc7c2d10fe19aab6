"""The continuous-training demo: synthetic churn data and the story `mlops demo` tells."""
