"""From one restrictive decision on one item to its statement of reasons."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from pathlib import PurePosixPath
from urllib.parse import urlparse

from charter.dsa import vocab
from charter.dsa.attribution import attribute
from charter.dsa.config import PlatformConfig
from charter.dsa.facts import explanation_text, facts_text, ground_text
from charter.dsa.model import StatementOfReasons
from charter.dsa.validate import PUID, validate_statement
from charter.errors import CharterError, Problem
from charter.policy.spec import Action, Policy
from charter.records import ContentItem, Decision

MACHINE = frozenset({"rules", "classifier", "llm", "cascade"})
MEDIA_TYPES = {"image": "CONTENT_TYPE_IMAGE", "video": "CONTENT_TYPE_VIDEO", "audio": "CONTENT_TYPE_AUDIO"}
# IPTC digital source types (used in C2PA manifests) that mean "made by generative AI".
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")
ACCOUNT_TYPES = {"business": "ACCOUNT_TYPE_BUSINESS", "private": "ACCOUNT_TYPE_PRIVATE"}
PUID_MAX = 500


class InvalidStatement(CharterError):
    """A generated statement the Transparency Database would reject, with every field error."""

    def __init__(self, puid: str, errors: list):
        super().__init__(
            f"statement {puid} would be rejected by the Transparency Database",
            [Problem(str(e)) for e in errors],
        )
        self.puid = puid
        self.errors = errors


def deciding_pathway(decision: Decision) -> str:
    """Who decided: the pathway, or for a cascade/external decision its `extra["decided_by"]`."""
    if decision.pathway == "dataset":
        raise CharterError(
            f"decision on item {decision.item_id!r} is a dataset's gold label, not an enforcement decision"
        )
    decided_by = decision.extra.get("decided_by")
    if decision.pathway in ("cascade", "external") and decided_by:
        return str(decided_by)
    if decision.pathway == "external":
        raise CharterError(
            f"decision on item {decision.item_id!r} comes from an external system; record who decided in "
            'extra["decided_by"] (rules, classifier, llm or human) so automation can be reported'
        )
    return decision.pathway


def detecting_pathway(decision: Decision) -> str | None:
    """The machine pathway that flagged an item a human then decided, if one is recorded."""
    detector = decision.extra.get("detected_by", "cascade" if decision.pathway == "cascade" else None)
    return str(detector) if detector in MACHINE else None


def automation(decision: Decision) -> tuple[str, str]:
    """(automated_detection, automated_decision) as the database defines them.

    A machine that decided alone: detected and decided automatically. A human who confirmed an
    item a machine flagged (`extra["detected_by"]` names a machine pathway, or a cascade passed
    it to a human): partially automated. A human acting alone: not automated.
    """
    decider = deciding_pathway(decision)
    if decider in MACHINE:
        return "Yes", "AUTOMATED_DECISION_FULLY"
    if decider != "human":
        raise CharterError(f"decision on item {decision.item_id!r}: decided_by {decider!r} is not a pathway")
    if detecting_pathway(decision):
        return "Yes", "AUTOMATED_DECISION_PARTIALLY"
    return "No", "AUTOMATED_DECISION_NOT_AUTOMATED"


def _ai_generated(item: ContentItem) -> bool:
    provenance = item.provenance
    if provenance.get("ai_generated") is True or provenance.get("synthetic") is True:
        return True
    source = str(provenance.get("digital_source_type", ""))
    return source.rsplit("/", 1)[-1] in AI_SOURCE_TYPES


def content_types(item: ContentItem) -> tuple[list[str], str | None]:
    """content_type values (text, media kinds by file type, synthetic media) and content_type_other."""
    types = ["CONTENT_TYPE_TEXT"] if item.text.strip() or not item.media else []
    unknown = []
    for ref in item.media:
        path = urlparse(ref).path or ref
        guessed, _ = mimetypes.guess_type(PurePosixPath(path).name)
        kind = MEDIA_TYPES.get((guessed or "").split("/")[0])
        if kind is None:
            unknown.append(PurePosixPath(path).suffix or "no extension")
        elif kind not in types:
            types.append(kind)
    if unknown:
        types.append("CONTENT_TYPE_OTHER")
    if _ai_generated(item):
        types.append("CONTENT_TYPE_SYNTHETIC_MEDIA")
    other = f"media attachment of unrecognised type ({', '.join(sorted(set(unknown)))})" if unknown else None
    return types, other


def content_language(item: ContentItem) -> str | None:
    """The item's language as uppercase ISO 639-1 ("en-GB" → "EN"), None when it is not one."""
    if not item.language:
        return None
    code = item.language.replace("_", "-").split("-")[0].upper()
    return code if code in vocab.LANGUAGES else None


def territorial_scope(item: ContentItem, config: PlatformConfig) -> list[str]:
    """The item's market when it is an EU/EEA country, else the platform's default scope."""
    market = (item.market or "").upper()
    market = vocab.COUNTRY_ALIASES.get(market, market)
    return [market] if market in vocab.EEA_COUNTRIES else sorted(config.default_territorial_scope)


def _day(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.date().isoformat()


def puid(decision: Decision, config: PlatformConfig) -> str:
    """A platform-unique id that is the same for the same decision, every time it is exported.

    The decision id when it has one that fits the database's alphabet; otherwise a digest of
    what identifies the decision (item, policy hash, action, pathway, time).
    """
    prefix = config.puid_prefix
    given = decision.decision_id
    if given and PUID.match(given) and len(prefix) + 1 + len(given) <= PUID_MAX:
        return f"{prefix}-{given}"
    if given:
        key = given
    else:
        stamp = decision.decided_at.isoformat() if decision.decided_at else ""
        key = "\0".join((decision.item_id, decision.policy_hash, decision.action, decision.pathway, stamp))
    return f"{prefix}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def _account_type(item: ContentItem, config: PlatformConfig) -> str | None:
    value = item.metadata.get(config.account_type_key)
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text in vocab.ACCOUNT_TYPE:
        return text
    if text.lower() in ACCOUNT_TYPES:
        return ACCOUNT_TYPES[text.lower()]
    raise CharterError(
        f"item {item.id!r}: metadata {config.account_type_key}={value!r} is not an account type; "
        "use business or private (or leave it empty)"
    )


def _decision_fields(action: Action) -> dict[str, object]:
    mapping = action.dsa
    if mapping is None:
        return {}
    return {
        "decision_visibility": [v.value for v in mapping.decision_visibility] or None,
        "decision_visibility_other": mapping.decision_visibility_other,
        "decision_account": mapping.decision_account.value if mapping.decision_account else None,
        "decision_provision": mapping.decision_provision.value if mapping.decision_provision else None,
    }


def statement_for(
    decision: Decision, item: ContentItem, policy: Policy, *, platform_config: PlatformConfig
) -> StatementOfReasons | None:
    """The statement of reasons for a restrictive decision; None when nothing was restricted.

    Raises CharterError when the decision cannot be explained (unknown action, no category) and
    InvalidStatement when the result would not pass the database's validation.
    """
    if decision.item_id != item.id:
        raise CharterError(f"decision for item {decision.item_id!r} was paired with item {item.id!r}")
    action = policy.action(decision.action)
    if action is None:
        known = ", ".join(a.id for a in policy.actions)
        raise CharterError(
            f"decision on item {decision.item_id!r} takes action {decision.action!r}, which policy "
            f"{policy.id} {policy.version} does not define (actions: {known})"
        )
    if not action.kind.restricts:
        return None
    if decision.decided_at is None:
        raise CharterError(f"decision on item {decision.item_id!r} has no decided_at, so its application date is unknown")
    attribution = attribute(decision, policy)
    category = attribution.category
    detection, automated = automation(decision)
    decider = deciding_pathway(decision)
    detector = detecting_pathway(decision) if decider == "human" else None
    types, type_other = content_types(item)
    ground = category.dsa.ground.value
    explanation = explanation_text(attribution, action)
    additions = []
    for other in attribution.additional:
        value = other.dsa.category.value
        if value != category.dsa.category.value and value not in additions:
            additions.append(value)
    source_type = str(decision.extra.get("source_type") or platform_config.source_type)
    source_identity = decision.extra.get("source_identity") or platform_config.source_identity
    data: dict[str, object] = {
        **_decision_fields(action),
        "account_type": _account_type(item, platform_config),
        "decision_facts": facts_text(decision, item, policy, attribution, action, types, decider, detector),
        "decision_ground": ground,
        "decision_ground_reference_url": category.dsa.ground_reference_url
        or platform_config.decision_ground_reference_url,
        "content_type": types,
        "content_type_other": type_other,
        "category": category.dsa.category.value,
        "category_addition": additions or None,
        "category_specification": list(category.dsa.keywords) or None,
        "territorial_scope": territorial_scope(item, platform_config),
        "content_language": content_language(item),
        "content_date": _day(item.created_at or decision.decided_at),
        "application_date": _day(decision.decided_at),
        "source_type": source_type,
        "source_identity": None if source_type == "SOURCE_VOLUNTARY" else source_identity,
        "automated_detection": detection,
        "automated_decision": automated,
        "puid": puid(decision, platform_config),
    }
    if ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        data["illegal_content_legal_ground"] = category.dsa.legal_ground
        data["illegal_content_explanation"] = explanation
    else:
        data["incompatible_content_ground"] = ground_text(attribution, policy, action)
        data["incompatible_content_explanation"] = explanation
    data = {k: v for k, v in data.items() if v is not None}
    errors = validate_statement(data)
    if errors:
        raise InvalidStatement(str(data["puid"]), errors)
    return StatementOfReasons.model_validate(data)
