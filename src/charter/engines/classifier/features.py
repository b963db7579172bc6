"""Features of the fast classifier: hashed word 1-2-grams and char_wb 2-5-grams of the
normalized text, plus one indicator per evasion transformation that fired.

Hashing (no vocabulary) keeps the featurizer stateless, so training, in-process scoring and
distributed scoring build identical features from the config alone. Char n-grams carry most of
the cost, and char_wb n-grams of a text are the sum of those of its whitespace-separated
words, so they are computed once per distinct word (`_WordGrams`), with the exact output of
scikit-learn's `HashingVectorizer(analyzer="char_wb")`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from charter.engines.normalize import TRANSFORMATIONS, Normalized

DTYPE = np.float32


class FeatureConfig(BaseModel):
    """How texts become feature vectors; stored in model.json so scoring rebuilds the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_features: int = Field(default=2**20, ge=2**10, le=2**24, description="hash space per block")
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    evasion_features: bool = Field(default=True, description="one 0/1 column per fired transformation")

    @property
    def width(self) -> int:
        return 2 * self.n_features + (len(TRANSFORMATIONS) if self.evasion_features else 0)


class _WordGrams:
    """char_wb n-grams per distinct word, cached across batches (bounded: when full, the cache
    starts again from the words just hashed). Safe to share between threads."""

    def __init__(self, vectorizer: HashingVectorizer, max_words: int):
        self._vectorizer = vectorizer
        self._max_words = max_words
        self._rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Unnormalized char_wb counts: (documents × distinct words) @ (words × features)."""
        vocab: dict[str, int] = {}
        columns: list[int] = []
        indptr = [0]
        for text in texts:
            for word in text.lower().split():
                column = vocab.get(word)
                if column is None:
                    column = vocab[word] = len(vocab)
                columns.append(column)
            indptr.append(len(columns))
        n_features = self._vectorizer.n_features
        if not vocab:
            return sp.csr_matrix((len(texts), n_features), dtype=DTYPE)
        counts = sp.csr_matrix(
            (np.ones(len(columns), dtype=DTYPE), np.asarray(columns, dtype=np.int32), np.asarray(indptr)),
            shape=(len(texts), len(vocab)),
        )
        words = list(vocab)
        cached = self._rows  # replaced, never cleared, so a concurrent call keeps a valid view
        learned = self._hash([w for w in words if w not in cached])
        rows = [learned[w] if w in learned else cached[w] for w in words]
        if len(cached) + len(learned) > self._max_words:
            self._rows = learned
        else:
            cached.update(learned)
        lengths = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        grams = sp.csr_matrix(
            (
                np.concatenate([r[1] for r in rows]),
                np.concatenate([r[0] for r in rows]),
                np.concatenate(([0], np.cumsum(lengths))),
            ),
            shape=(len(words), n_features),
        )
        return (counts @ grams).tocsr()

    def _hash(self, words: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(indices, counts) of each word's char_wb n-grams, as HashingVectorizer hashes them."""
        if not words:
            return {}
        block = self._vectorizer.transform(words)
        return {
            word: (block.indices[block.indptr[i] : block.indptr[i + 1]].copy(), block.data[block.indptr[i] : block.indptr[i + 1]].copy())
            for i, word in enumerate(words)
        }


class Featurizer:
    """Normalized texts → one sparse row each: [word block | char block | evasion flags]."""

    def __init__(self, config: FeatureConfig, max_cached_words: int = 200_000):
        self.config = config
        self._words = HashingVectorizer(
            analyzer="word",
            ngram_range=config.word_ngrams,
            n_features=config.n_features,
            alternate_sign=False,
            dtype=DTYPE,
        )
        self._chars = _WordGrams(
            HashingVectorizer(
                analyzer="char_wb",
                ngram_range=config.char_ngrams,
                n_features=config.n_features,
                alternate_sign=False,
                norm=None,
                dtype=DTYPE,
            ),
            max_cached_words,
        )

    def blocks(self, normalized: Sequence[Normalized]) -> list[sp.csr_matrix]:
        """The feature blocks side by side ([word, char] and, when configured, evasion flags):
        `transform` stacks them; scoring multiplies each by its rows of the weights."""
        texts = [n.text for n in normalized]
        blocks = [self._words.transform(texts), l2_normalize(self._chars.matrix(texts), copy=False)]
        if self.config.evasion_features:
            blocks.append(evasion_indicators(normalized))
        return blocks

    def transform(self, normalized: Sequence[Normalized]) -> sp.csr_matrix:
        if not normalized:
            return sp.csr_matrix((0, self.config.width), dtype=DTYPE)
        return sp.hstack(self.blocks(normalized), format="csr", dtype=DTYPE)


_COLUMN = {name: i for i, name in enumerate(TRANSFORMATIONS)}


def evasion_indicators(normalized: Sequence[Normalized]) -> sp.csr_matrix:
    """One 0/1 column per transformation, in `TRANSFORMATIONS` order."""
    rows = [i for i, n in enumerate(normalized) for _ in n.fired]
    cols = [_COLUMN[name] for n in normalized for name in n.fired]
    return sp.csr_matrix(
        (np.ones(len(rows), dtype=DTYPE), (rows, cols)), shape=(len(normalized), len(TRANSFORMATIONS))
    )
