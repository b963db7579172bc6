"""The compiler: one Policy in, one Bundle of stamped enforcement artifacts out (LLM prompts,
labeling guidelines, classifier thresholds, escalation routing), plus loading a bundle back
with its manifest verified and updating its thresholds after tuning."""

from charter.compile.bundle import Bundle, write_bundle
from charter.compile.compiler import compile_policy
from charter.compile.loader import LoadedBundle, load_bundle
from charter.compile.prompts import render_user_message
from charter.compile.thresholds import update_thresholds

__all__ = [
    "Bundle",
    "LoadedBundle",
    "compile_policy",
    "load_bundle",
    "render_user_message",
    "update_thresholds",
    "write_bundle",
]
