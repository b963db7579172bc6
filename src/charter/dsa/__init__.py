"""EU DSA statements of reasons: generated from decisions, validated as the Transparency
Database validates them, and exported as API batches."""

from charter.dsa.config import PlatformConfig, load_platform_config
from charter.dsa.export import Export, batches, build_statements, export_statements
from charter.dsa.generate import InvalidStatement, statement_for
from charter.dsa.model import StatementOfReasons
from charter.dsa.redact import redact
from charter.dsa.validate import FieldError, validate_statement

__all__ = [
    "Export",
    "FieldError",
    "InvalidStatement",
    "PlatformConfig",
    "StatementOfReasons",
    "batches",
    "build_statements",
    "export_statements",
    "load_platform_config",
    "redact",
    "statement_for",
    "validate_statement",
]
