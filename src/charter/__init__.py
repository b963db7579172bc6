"""Charter: policy-as-code for content moderation."""

__version__ = "0.1.0"
