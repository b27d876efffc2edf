"""The transformer table of ``make bench``: all-MiniLM-L6-v2's layer 0 (its real weights) on
the ``minilm`` preset, the default chip with the SRAM and instruction queues a MiniLM layer
needs (the same lanes, streams, MEM slices, VXM and matrix units, so the same bounds).

Every cycle count is the golden simulator's, which equals the compiler's prediction (checked
here; the RTL's equality with both is checked by ``make test-model``), and every output is
compared with :mod:`golden.transformer.layers` bit for bit.

- Encoder layer at ``T`` tokens: cycles, the MXM bound (MACs / (matrix units x lanes^2)),
  their ratio and MXM utilisation.
- Decoder: the prompt's program (time to first token) and one token's program at several
  cache lengths, against the weight-streaming bound (a token reads every weight byte once:
  weight bytes / (2 x mem_slices x lanes) bytes per cycle).
"""

import time

import numpy as np

from golden.transformer.evaluation import EVALUATION_FILE
from isa import preset
from verification.model_runs import decoder_runs, layer_run, minilm_model, run_models

__all__ = ["layer_table"]

#: Token counts of the encoder rows.
ENCODER_TOKENS = (16, 128)
#: The decoder's prompt, and the positions of the tokens measured after it.
PROMPT = 16
STEPS = (16, 17, 31)


def _checked(config, runs, say):
    results = run_models(config, runs, rtl=False, progress=lambda m: say(f"  {m}"))
    for comparison, _ in results:
        if not comparison.ok:
            raise SystemExit(f"the bench measures only correct runs:\n{comparison.report()}")
    return [found["golden"].cycles for _, found in results]


def layer_table(say, table):
    """Compile, run and check the layer programs; returns the table's text."""
    config = preset("minilm")
    encoder, tokenizer = minilm_model(log=lambda m: say(f"  {m}"))
    params = encoder.layers[0]
    width = params.width
    ffn = params.intermediate.shape[1]
    units = 2 * config.mxms
    per_cycle = units * config.lanes ** 2 // config.mxm_fold
    stream = np.concatenate([tokenizer.encode(s)
                             for s in EVALUATION_FILE.read_text().splitlines()[:20]])
    rows = []
    for tokens in ENCODER_TOKENS:
        say(f"compiling MiniLM layer 0 on {tokens} tokens ...")
        begin = time.monotonic()
        run = layer_run(config, params, encoder.tables, encoder.embed(stream[:tokens]),
                        name=f"layer0.t{tokens}")
        seconds = time.monotonic() - begin
        cycles, = _checked(config, [run], say)
        bound = run.kernel.macs / per_cycle
        rows.append((f"encoder layer, T = {tokens}", f"{cycles:,}", f"{bound:,.0f}",
                     f"{cycles / bound:.2f}x", f"{100 * run.kernel.utilisation(cycles):.1f}%",
                     f"{seconds:.0f}"))
    weight_bytes = 4 * width * width + 2 * width * ffn
    streaming = weight_bytes / (2 * config.mem_slices * config.lanes)
    say(f"compiling a decoder: a {PROMPT}-token prompt and tokens at positions "
        f"{', '.join(map(str, STEPS))} ...")
    begin = time.monotonic()
    x = encoder.embed(stream[:max(STEPS) + 1])
    runs = decoder_runs(config, params, encoder.tables, x, PROMPT, capacity=max(STEPS) + 1)
    seconds = time.monotonic() - begin
    cycles = _checked(config, runs, say)
    rows.append((f"decoder prompt, T = {PROMPT}", f"{cycles[0]:,}", "-", "-",
                 f"{100 * runs[0].kernel.utilisation(cycles[0]):.1f}%", "-"))
    for run, count in zip(runs[1:], cycles[1:]):
        position = int(run.name.rsplit("step", 1)[1])
        if position in STEPS:
            rows.append((f"decoder token at position {position}", f"{count:,}",
                         f"{streaming:,.0f} (streaming)", f"{count / streaming:.2f}x",
                         f"{100 * run.kernel.utilisation(count):.1f}%", "-"))
    text = table(("program", "cycles", "bound", "cycles / bound", "MXM utilisation",
                  "compile s"), rows)
    return (text + f"\n\n  preset {config.name!r}: {config.summary()}\n"
            f"  MXM bound: MACs / ({units} matrix units x {config.lanes}^2); streaming bound: "
            f"{weight_bytes:,} weight bytes / {2 * config.mem_slices * config.lanes} B/cycle "
            f"of MEM reads\n  decoder programs compiled in {seconds:.0f} s")
