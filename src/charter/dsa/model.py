"""A statement of reasons exactly as the Transparency Database API takes it: its field names,
UPPER_SNAKE enumeration values, "Yes"/"No" strings and Y-m-d dates, so `wire()` is the JSON
body to send. The conditional rules live in `charter.dsa.validate` (they apply to raw JSON as
well, e.g. a file someone else wrote)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from charter.dsa import vocab

Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Text500 = Annotated[str, StringConstraints(max_length=500)]
Text2000 = Annotated[str, StringConstraints(max_length=2000)]
YesNo = Literal[vocab.YES_NO]


class StatementOfReasons(BaseModel):
    """One statement of reasons (DSA Art. 17/24(5)); optional fields left None are not sent."""

    model_config = ConfigDict(extra="forbid")

    decision_visibility: list[Literal[vocab.DECISION_VISIBILITY]] | None = None
    decision_visibility_other: Text500 | None = None
    decision_monetary: Literal[vocab.DECISION_MONETARY] | None = None
    decision_monetary_other: Text500 | None = None
    decision_provision: Literal[vocab.DECISION_PROVISION] | None = None
    decision_account: Literal[vocab.DECISION_ACCOUNT] | None = None
    account_type: Literal[vocab.ACCOUNT_TYPE] | None = None
    decision_facts: Annotated[str, StringConstraints(max_length=5000)]
    decision_ground: Literal[vocab.DECISION_GROUND]
    decision_ground_reference_url: Text500 | None = None
    illegal_content_legal_ground: Text500 | None = None
    illegal_content_explanation: Text2000 | None = None
    incompatible_content_ground: Text500 | None = None
    incompatible_content_explanation: Text2000 | None = None
    incompatible_content_illegal: YesNo | None = None
    content_type: list[Literal[vocab.CONTENT_TYPE]] = Field(min_length=1)
    content_type_other: Text500 | None = None
    category: Literal[vocab.CATEGORY]
    category_addition: list[Literal[vocab.CATEGORY]] | None = None
    category_specification: list[Literal[vocab.KEYWORD]] | None = None
    category_specification_other: Text500 | None = None
    territorial_scope: list[Literal[vocab.EEA_COUNTRIES]] | None = None
    content_language: str | None = None
    content_date: Day
    application_date: Day
    end_date_account_restriction: Day | None = None
    end_date_monetary_restriction: Day | None = None
    end_date_service_restriction: Day | None = None
    end_date_visibility_restriction: Day | None = None
    source_type: Literal[vocab.SOURCE_TYPE]
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: Literal[vocab.AUTOMATED_DECISION]
    puid: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\-_]+$", max_length=500)]
    content_id: dict[Literal["EAN-13"], str] | None = None

    def wire(self) -> dict[str, Any]:
        """The API body: unset optional fields and empty lists are left out, as the API expects."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if v != []}


FIELDS = tuple(StatementOfReasons.model_fields)
