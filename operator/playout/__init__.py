"""playout: 24/7 linear TV channels and media quality checks on Kubernetes."""

__version__ = "0.1.0"
