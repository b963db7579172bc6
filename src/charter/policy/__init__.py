"""The policy layer: spec models, loading, linting, hashing and diffing."""
