"""The bundle layout: where each artifact lives, relative to the bundle directory, and which
artifacts a loader needs for a given set of categories."""

from __future__ import annotations

POLICY_FILE = "policy.json"
CLASSIFIER_FILE = "classifier.json"
ROUTING_FILE = "routing.json"
RULES_FILE = "rules.json"
SCHEMAS_FILE = "prompts/output_schema.json"
INDEX_FILE = "prompts/index.json"
USER_TEMPLATE_FILE = "prompts/user_template.txt"
HTML_FILE = "guidelines/index.html"


def prompt_path(category: str) -> str:
    return f"prompts/{category}.md"


def tree_path(category: str) -> str:
    return f"prompts/{category}.tree.json"


def guideline_path(category: str) -> str:
    return f"guidelines/{category}.md"


def required_paths(category_ids: list[str]) -> list[str]:
    """Every artifact a bundle of these categories must list (what loaders read)."""
    paths = [POLICY_FILE, CLASSIFIER_FILE, ROUTING_FILE, RULES_FILE, SCHEMAS_FILE, INDEX_FILE, USER_TEMPLATE_FILE, HTML_FILE]
    for category in category_ids:
        paths += [prompt_path(category), tree_path(category), guideline_path(category)]
    return paths
