"""The enforcement service (workflow layer, no HTTP)."""
