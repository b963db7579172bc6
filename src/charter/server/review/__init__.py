"""The review and labeling web app: server-rendered pages over `charter.review`, for
reviewers (walk the policy's decision tree beside its guideline), leads (queues, gold
accuracy, agreement, adjudication, consensus export) and admins (users, projects).

    from charter.server.review import ReviewSettings, create_review_app
    app = create_review_app(ReviewSettings(secret_key="...", database_url="sqlite:///review.db"))
"""

from charter.server.review.app import create_review_app
from charter.server.review.settings import ReviewSettings

__all__ = ["ReviewSettings", "create_review_app"]
