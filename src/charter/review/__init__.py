"""The human review pathway's store and workflows (no web layer): reviewers label tasks by
walking the policy's decision trees, leads adjudicate disagreements, and the consensus is
exported as labelled items that `charter eval` reads. Every function takes a SQLAlchemy
Session; the caller owns the transaction (commit after `next_task` so its lease is visible).

Store: `make_engine(url=None)`, `session_factory(engine)`, `session_scope(factory)`,
`migrate(url=None)`; URL = argument, $CHARTER_DATABASE_URL, or sqlite:///charter.db.
Users: `create_user(session, username, password, role)`, `authenticate(session, username,
password) -> User | None`, `get_user`. Projects: `create_project(session, name, bundle,
gold_rate=0.0)`, `get_project`. Enqueueing: `enqueue_escalations(session, project, decisions,
items)`, `enqueue_qa_sample(session, project, decisions, items, n, method="random"|"stratified",
seed=0)`, `import_dataset(session, project, labelled, overlap=2, gold_share=0.0, seed=0)`,
`import_annotations(session, project, category, annotations)`. Work: `next_task(session,
reviewer, project, queues=None, lease_minutes=30) -> TaskView | None`, `submit_label(session,
reviewer, assignment_id, answers, ...)`, `skip_task(...)`, `release_task(...)`,
`correct_label(...)`. Measures:
`gold_accuracy`, `review_agreement`, `node_agreement`. Resolution: `adjudication_queue`,
`adjudicate`, `consensus`, `export_consensus`.
"""

from charter.review.adjudication import Dispute, adjudicate, adjudication_queue
from charter.review.agreement import NodeAgreement, node_agreement, review_agreement
from charter.review.annotations import Annotation, import_annotations
from charter.review.consensus import ConsensusVerdict, consensus, export_consensus
from charter.store.sql import database_url, make_engine, migrate, session_factory, session_scope
from charter.review.enqueue import enqueue_escalations, enqueue_qa_sample, import_dataset
from charter.review.gold import GoldAccuracy, gold_accuracy
from charter.review.labels import correct_label, current_labels, label_history, skip_task, submit_label
from charter.review.leases import TaskView, next_task, release_task
from charter.review.projects import create_project, get_project, project_policy
from charter.review.sampling import qa_sample
from charter.review.users import authenticate, create_user, get_user

__all__ = [
    "Annotation",
    "ConsensusVerdict",
    "Dispute",
    "GoldAccuracy",
    "NodeAgreement",
    "TaskView",
    "adjudicate",
    "adjudication_queue",
    "authenticate",
    "consensus",
    "correct_label",
    "create_project",
    "create_user",
    "current_labels",
    "database_url",
    "enqueue_escalations",
    "enqueue_qa_sample",
    "export_consensus",
    "get_project",
    "get_user",
    "gold_accuracy",
    "import_annotations",
    "import_dataset",
    "label_history",
    "make_engine",
    "migrate",
    "next_task",
    "node_agreement",
    "project_policy",
    "qa_sample",
    "release_task",
    "review_agreement",
    "session_factory",
    "session_scope",
    "skip_task",
    "submit_label",
]
