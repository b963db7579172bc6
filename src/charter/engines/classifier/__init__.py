"""The fast at-scale classifier: hashed n-gram features of normalized text, one calibrated
linear model per category, a verified artifact directory, and an Engine that routes its
scores by the compiled bundle's thresholds."""

from charter.engines.classifier.artifact import check_policy, load_model, read_card, record_evaluation, save_model
from charter.engines.classifier.engine import ClassifierEngine
from charter.engines.classifier.features import FeatureConfig, Featurizer
from charter.engines.classifier.model import ModelCard, Scored, TrainConfig, TrainedClassifier, train_classifier
from charter.engines.classifier.table import score_table

__all__ = [
    "ClassifierEngine",
    "FeatureConfig",
    "Featurizer",
    "ModelCard",
    "Scored",
    "TrainConfig",
    "TrainedClassifier",
    "check_policy",
    "load_model",
    "read_card",
    "record_evaluation",
    "save_model",
    "score_table",
    "train_classifier",
]
