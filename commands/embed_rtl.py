"""``python -m commands.embed --rtl``: sentence embeddings computed by the RTL.

Each sentence runs through the whole all-MiniLM-L6-v2 integer encoder compiled for the
``minilm`` preset (:func:`compiler.encoder.compile_encoder`: the six layers' weights resident in
SRAM, the host feeding the tokens' word-embedding rows), on the golden simulator and on the
RTL (Verilator; its model is built on first use, a few minutes). For each sentence it prints
the token count, the chip's cycles (simulated and predicted) and its latency at the stated
clock, whether the RTL's embedding equals the golden model's bit for bit, and the cosine
similarity of the RTL's embedding to the float model's.
"""

import sys
import time

import numpy as np

from golden.transformer import reference
from isa import preset
from verification.model_runs import run_models, sentence_runs

__all__ = ["embed_on_rtl"]

#: The integer embedding's scale: int16 Q15.
Q15 = 1 << 15


def embed_on_rtl(encoder, float_model, tokenizer, sentences, clock_mhz, progress):
    """Embed ``sentences`` on the RTL and print one line per sentence; returns whether every
    run was bit-exact and cycle-exact."""
    config = preset("minilm")
    token_lists = tokenizer.encode_all(sentences)   # reject bad input before the long runs
    all_ok = True
    print(f"{'tokens':>6}  {'programs':>8}  {'cycles':>9}  {'us @' + f'{clock_mhz:g}MHz':>11}  "
          f"{'bit-exact':>9}  {'cosine':>8}  sentence")
    for sentence, tokens in zip(sentences, token_lists):
        progress(f"compiling the encoder for {len(tokens)} tokens (minutes)")
        begin = time.monotonic()
        runs = sentence_runs(config, encoder, tokens)
        progress(f"compiled {len(runs)} program(s) in {time.monotonic() - begin:.0f} s; "
                 f"running the golden simulator and the RTL")
        results = run_models(config, runs, name="embed", progress=progress)
        ok = all(comparison.ok for comparison, _ in results)
        all_ok &= ok
        for comparison, _ in results:
            if not comparison.ok:
                print(comparison.report(), file=sys.stderr)
        last_run, (_, last_found) = runs[-1], results[-1]
        embedding = last_run.kernel.unbind(last_found["rtl"].outputs)["embedding"][0] / Q15
        exact = reference.sentence_embedding(float_model, tokens)
        cosine = float(embedding @ exact / (np.linalg.norm(embedding) * np.linalg.norm(exact)))
        cycles = sum(found["rtl"].cycles for _, found in results)
        print(f"{len(tokens):>6}  {len(runs):>8}  {cycles:>9,}  {cycles / clock_mhz:>11.1f}  "
              f"{'yes' if ok else 'NO':>9}  {cosine:8.5f}  {sentence}", flush=True)
    return all_ok
