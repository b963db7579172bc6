"""compile_policy: lint, then turn one Policy into a Bundle of enforcement artifacts (LLM
prompts, labeling guidelines, classifier config, routing table, exact-match rules, canonical policy), every
one stamped with the policy's id, version and content hash. Deterministic: the same policy
always compiles to byte-identical files."""

from __future__ import annotations

from charter.compile.bundle import Bundle
from charter.compile.classifier import classifier_artifact
from charter.compile.guidelines import guideline_markdown, guidelines_html
from charter.compile.paths import (
    CLASSIFIER_FILE,
    HTML_FILE,
    INDEX_FILE,
    POLICY_FILE,
    ROUTING_FILE,
    RULES_FILE,
    SCHEMAS_FILE,
    USER_TEMPLATE_FILE,
    guideline_path,
    prompt_path,
    tree_path,
)
from charter.compile.prompts import prompt_artifact, system_prompt, user_template, user_template_artifact
from charter.compile.routing import routing_artifact
from charter.compile.rules import rules_artifact
from charter.compile.schemas import schemas_artifact
from charter.compile.stamp import json_bytes
from charter.compile.tokens import index_artifact
from charter.compile.tree_prompts import node_prompt, tree_artifact
from charter.compile.view import policy_views
from charter.errors import CharterError
from charter.policy.hashing import identity as policy_identity
from charter.policy.lint import lint_policy
from charter.policy.load import LoadedPolicy
from charter.policy.spec import Policy


def compile_policy(policy: Policy, source: LoadedPolicy | None = None) -> Bundle:
    """Compile `policy` (refusing, with every lint error listed, if it does not lint clean).

    Pass the LoadedPolicy as `source` so lint errors carry file and line numbers.
    """
    report = lint_policy(policy, source)
    if not report.ok:
        count = len(report.errors)
        raise CharterError(
            f"policy {policy.id} has {count} lint error{'s' if count != 1 else ''}; fix them before compiling",
            list(report.errors),
        )
    identity = policy_identity(policy)
    views = policy_views(policy)
    files: dict[str, bytes] = {
        POLICY_FILE: json_bytes(policy.model_dump(mode="json")),
        CLASSIFIER_FILE: classifier_artifact(identity, policy),
        ROUTING_FILE: routing_artifact(identity, policy),
        RULES_FILE: rules_artifact(identity, policy),
        SCHEMAS_FILE: schemas_artifact(identity, views),
        USER_TEMPLATE_FILE: user_template_artifact(identity),
        INDEX_FILE: index_artifact(
            identity,
            single_shot={v.id: system_prompt(v) for v in views},
            tree_nodes={v.id: {n.id: node_prompt(policy, v, n) for n in v.nodes} for v in views},
            user_template=user_template(),
        ),
        HTML_FILE: guidelines_html(identity, policy, views),
    }
    for view in views:
        files[prompt_path(view.id)] = prompt_artifact(identity, view)
        files[tree_path(view.id)] = tree_artifact(identity, policy, view)
        files[guideline_path(view.id)] = guideline_markdown(identity, policy, view)
    return Bundle(policy=policy, identity=identity, files=dict(sorted(files.items())))
