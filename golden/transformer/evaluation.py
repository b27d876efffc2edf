"""The integer pipeline measured against the float model: sentence embeddings of both, their
cosine similarities and the rank correlation of their pairwise similarities (the command is
``python -m commands.embed``)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import reference

__all__ = ["TARGETS", "EVALUATION_FILE", "Evaluation", "spearman", "evaluate"]

#: Acceptance targets: mean and worst cosine similarity, Spearman rank correlation.
TARGETS = {"mean_cosine": 0.99, "worst_cosine": 0.97, "spearman": 0.98}
EVALUATION_FILE = Path(__file__).resolve().parent / "data" / "evaluation.txt"


def _ranks(x):
    """Ranks 1..n of ``x``, ties sharing their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    values, inverse = np.unique(x, return_inverse=True)
    totals = np.zeros(len(values))
    counts = np.zeros(len(values))
    np.add.at(totals, inverse, ranks)
    np.add.at(counts, inverse, 1)
    return (totals / counts)[inverse]


def spearman(a, b):
    """Spearman rank correlation of two equally long sequences (average ranks for ties)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"Spearman correlation needs two 1-D sequences of equal length >= 2, "
                         f"not shapes {a.shape} and {b.shape}")
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator else 0.0


@dataclass(frozen=True)
class Evaluation:
    """Integer vs float sentence embeddings of a set of sentences.

    Members
    -------
    sentences : list of str
    tokens : list of int
        Token count of each sentence.
    integer, reference : ndarray
        ``[sentences, H]`` unit-length embeddings (the integer ones dequantised from Q15).
    """
    sentences: list
    tokens: list
    integer: np.ndarray
    reference: np.ndarray

    @property
    def cosines(self):
        """Cosine similarity of each sentence's integer and float embedding."""
        norms = np.linalg.norm(self.integer, axis=1) * np.linalg.norm(self.reference, axis=1)
        return (self.integer * self.reference).sum(axis=1) / norms

    def pair_similarities(self):
        """``(integer, float)`` cosine similarities of every sentence pair ``i < j``."""
        unit = self.integer / np.linalg.norm(self.integer, axis=1, keepdims=True)
        upper = np.triu_indices(len(unit), 1)
        return (unit @ unit.T)[upper], (self.reference @ self.reference.T)[upper]

    def summary(self):
        """``{"sentences", "mean_cosine", "worst_cosine", "worst_sentence", "spearman"}``."""
        cosines = self.cosines
        worst = int(np.argmin(cosines))
        result = {"sentences": len(self.sentences), "mean_cosine": float(cosines.mean()),
                  "worst_cosine": float(cosines[worst]),
                  "worst_sentence": self.sentences[worst]}
        if len(self.sentences) > 2:
            result["spearman"] = spearman(*self.pair_similarities())
        return result


def evaluate(encoder, float_model, tokenizer, sentences, progress=None):
    """Embed ``sentences`` with the integer ``encoder`` and the float model.

    Parameters
    ----------
    encoder : golden.transformer.layers.IntegerEncoder
    float_model : golden.transformer.reference.FloatBert
    tokenizer : golden.transformer.minilm.SentenceTokenizer
    sentences : list of str
    progress : callable, optional
        Called as ``progress(done, total)`` after each sentence.
    """
    token_lists = tokenizer.encode_all(sentences)   # reject bad input before the long run
    integer, floats = [], []
    for i, tokens in enumerate(token_lists):
        integer.append(encoder.sentence_embedding(tokens) / 32768)
        floats.append(reference.sentence_embedding(float_model, tokens))
        if progress is not None:
            progress(i + 1, len(token_lists))
    return Evaluation(list(sentences), [len(t) for t in token_lists], np.array(integer),
                      np.array(floats))
