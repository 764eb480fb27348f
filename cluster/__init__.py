"""headline-cluster: turn a week of news headlines into labelled topic tables."""

__version__ = "0.1.0"
