"""Enforcement pathways (rules, classifier, LLM, human queue, cascade) behind one Engine contract."""
