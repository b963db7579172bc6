"""The `charter` command: one entry point, sub-commands grouped by the job a user is doing."""

from __future__ import annotations

import typer

from charter.cli import (
    classifier_cmd,
    compare_cmd,
    compile_cmd,
    datasets_cmd,
    demo_cmd,
    dsa_cmd,
    enforce_cmd,
    eval_cmd,
    llm_cmd,
    policy_cmd,
    policy_identity_cmd,
    review_cmd,
    review_interop_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="charter",
    help="Policy-as-code for content moderation: write the policy once, compile it into every "
    "enforcement artifact, and measure every pathway against the same policy version.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

policy_app = policy_cmd.app
policy_app.command("diff", help="Semantic diff between two policy versions (text or --json).")(policy_identity_cmd.diff)
policy_app.command("hash", help="Print a policy's id, version and content hash.")(policy_identity_cmd.hash)
policy_app.command("check-version", help="Check that content changes come with a version bump.")(
    policy_identity_cmd.check_version
)
app.add_typer(policy_app, name="policy", help="Lint, show, hash and diff policies.")

app.command("compile", help="Lint and compile a policy into a bundle of enforcement artifacts.")(
    compile_cmd.compile_command
)
bundle_app = typer.Typer(no_args_is_help=True, help="Inspect compiled bundles.")
bundle_app.command("show", help="Verify a bundle's manifest and summarise it.")(compile_cmd.bundle_info)
app.add_typer(bundle_app, name="bundle")

app.add_typer(datasets_cmd.app, name="datasets", help="List, inspect and import moderation datasets.")
app.command("eval", help="Evaluate a decision log against gold labels: HTML + JSON report.")(eval_cmd.eval_command)
app.command("compare", help="Two decision logs on the same gold items: significance and flipped items.")(
    compare_cmd.compare_command
)
app.command("agreement", help="Agreement between pathways' verdicts: Cohen's/Fleiss' kappa, Krippendorff's alpha.")(
    compare_cmd.agreement_command
)
app.add_typer(compare_cmd.thresholds_app, name="thresholds")
app.add_typer(classifier_cmd.app, name="classifier", help="Train, score, evaluate, inspect and stress-test the fast classifier.")
app.add_typer(llm_cmd.app, name="llm", help="LLM moderators: run the compiled prompts against a backend, evaluate, probe.")
app.add_typer(dsa_cmd.app, name="dsa", help="EU DSA statements of reasons: export and validate.")
app.command("enforce", help="Run the cascade (or one pathway) over a dataset split or items file into a decision log.")(
    enforce_cmd.enforce_command
)
app.command("serve", help="Run the enforcement API: moderate under a bundle, store every decision, hot-swap bundles.")(
    serve_cmd.serve
)
app.add_typer(serve_cmd.keys_app, name="keys", help="Create, list and revoke the enforcement API's keys.")
app.add_typer(serve_cmd.decisions_app, name="decisions", help="Export the service's decision log: Parquet, DSA statements of reasons.")

review_app = review_cmd.app
review_app.command("export-labelstudio", help="Export a project's tasks, predictions and labels as Label Studio JSON.")(
    review_interop_cmd.export_labelstudio
)
review_app.command("import-labelstudio", help="Import Label Studio tasks, predictions and annotations into a project.")(
    review_interop_cmd.import_labelstudio
)
review_app.command("label-quality", help="Multi-annotator label quality (cleanlab): consensus, annotator quality, suspect items.")(
    review_interop_cmd.label_quality
)
app.add_typer(review_app, name="review", help="Human review: the labeling web app, its demo project, accounts and interop.")
app.command("demo", help="Run the whole loop on the embedded defaults: lint, compile, train, enforce, evaluate.")(
    demo_cmd.demo
)

if __name__ == "__main__":  # pragma: no cover
    app()
