"""The example moderation policy that ships with Charter (and its next release, for diff demos)."""
