"""LLM planner cost on the benchmark scene: prompt and output tokens, and planning overhead.

The scene is a 10 s clip with two sources (a dog static on the left, a car passing right to
left; 16 layout frames): ``tests.engine.planning.cuekit.dog_and_car``. The model is a tiny
random llama GGUF written on the fly, so the figures are about the planner, not a model:

- prompt tokens: the real prompt (system, retrieved examples, cue table) as the model's
  tokenizer counts it, within the 1500-token budget;
- output tokens: what the random model wrote under the grammar (noise that fills strings
  towards their caps: an upper-end figure), next to the tokens of a good reply for the scene
  (what a working model writes) and the grammar's worst case in characters;
- overhead: planning time outside the model (cue summary, retrieval, prompt building and
  token counting, parsing, guard); model load and grammar build are printed apart.

The default vocabulary is the tests' byte-level one (one token per byte: a pessimistic
count). Give real tokenizers with ``--vocab``: the vocabulary-only GGUFs in llama.cpp's
``models/`` folder (``ggml-vocab-qwen2.gguf`` is the Qwen2.5 / Qwen3 tokenizer,
``ggml-vocab-llama-bpe.gguf`` Llama 3's).

    .venv/bin/python benchmarks/planner_llm.py [--vocab FILE ...] [--repeat 3]
    .venv/bin/python benchmarks/planner_llm.py --shape 3b --n-gpu-layers auto   # a GPU box

Targets (planner issue): prompt <= 1500 tokens, output <= 600 tokens.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT_TARGET, OUTPUT_TARGET = 1500, 600


def measure(vocab_path: Path | None, *, repeat: int, shape: str, n_gpu_layers, threads: int,
            workdir: Path) -> dict:
    from engine.jobs import CancelToken, run_job
    from engine.planning.llm_prompt import summarize_cues
    from engine.planning.llm_schema import max_reply_chars, reply_schema
    from engine.protocols import PlanRequest
    from models.llama_planner import LlamaChat, LlamaPlanner
    from tests.engine.planning.cuekit import dog_and_car
    from tests.engine.planning.replies import GOOD
    from tests.models.tiny_gguf import SHAPE_3B, Shape, byte_level_vocab, vocab_from_gguf, \
        write_tiny_llama

    import numpy as np

    vocab = vocab_from_gguf(vocab_path) if vocab_path else byte_level_vocab()
    name = vocab_path.stem.replace("ggml-vocab-", "") if vocab_path else "byte-level"
    big = shape == "3b"
    t0 = time.perf_counter()
    gguf = write_tiny_llama(workdir / f"random-{shape}-{name}.gguf", vocab,
                            shape=SHAPE_3B if big else Shape(),
                            dtype=np.float16 if big else np.float32)
    write_s = time.perf_counter() - t0

    cues = dog_and_car()
    request = PlanRequest(cues)
    planner = LlamaPlanner(model_path=gguf, n_ctx=8192, n_gpu_layers=n_gpu_layers,
                           n_threads=threads, keep_loaded=True, seed=0)
    t0 = time.perf_counter()
    planner.load()
    load_s = time.perf_counter() - t0

    runs = []
    for i in range(repeat):
        planner.seed = i
        layout = run_job(planner.plan(request, CancelToken()))
        s = planner.last_stats
        runs.append({"prompt": s.prompt_tokens[0], "output": s.output_tokens[0],
                     "model_s": s.model_s, "total_s": s.total_s, "overhead_s": s.overhead_s,
                     "attempts": s.attempts, "fell_back": s.fell_back,
                     "examples": s.examples, "objects": len(layout.objects)})

    planner.unload()
    # The planner runs llama.cpp in a worker process; the per-token timings below drive a
    # model loaded here, the same way.
    from llama_cpp import Llama
    llm = Llama(model_path=str(gguf), n_ctx=8192, n_gpu_layers=planner.n_gpu_layers,
                n_threads=threads, seed=0, verbose=False)
    chat = LlamaChat(llm, gguf.name)
    summary = summarize_cues(cues)
    schema = reply_schema(summary)
    t0 = time.perf_counter()
    grammar = chat.grammar(schema)
    grammar_s = time.perf_counter() - t0
    per_token = {}
    ids = llm.tokenize(b"Cues:", add_bos=False)
    for label, g in (("free", None), ("grammar", grammar)):
        times = []
        for _ in range(3):  # the fastest of three: the machine is shared and noisy
            t0 = time.perf_counter()
            n = sum(1 for _ in llm.create_completion(
                prompt=ids, max_tokens=32, grammar=g, stream=True, seed=0))
            times.append((time.perf_counter() - t0) / max(1, n))
        per_token[label] = min(times)
    good_tokens = len(llm.tokenize(GOOD.encode(), add_bos=False, special=False))
    llm.close()
    gguf.unlink()
    return {"vocab": name, "n_vocab": len(vocab.tokens), "shape": shape,
            "gpu_layers": planner.n_gpu_layers, "write_s": write_s, "load_s": load_s,
            "grammar_s": grammar_s, "ms_per_token": per_token, "good_reply_tokens": good_tokens,
            "grammar_max_chars": max_reply_chars(schema), "runs": runs}


def report(r: dict) -> None:
    runs = r["runs"]
    med = {k: statistics.median(x[k] for x in runs)
           for k in ("prompt", "output", "model_s", "total_s", "overhead_s")}
    print(f"\n== vocabulary {r['vocab']} ({r['n_vocab']} tokens), model shape {r['shape']}, "
          f"gpu layers {r['gpu_layers']}")
    print(f"model: written in {r['write_s']:.2f} s, loaded (worker process started) in "
          f"{r['load_s']:.2f} s; "
          f"grammar built in {r['grammar_s'] * 1000:.0f} ms")
    print(f"examples used: {', '.join(runs[0]['examples']) or 'none'}")
    for i, x in enumerate(runs):
        print(f"  run {i}: prompt {x['prompt']} tok, output {x['output']} tok, model "
              f"{x['model_s']:.2f} s, overhead {x['overhead_s'] * 1000:.0f} ms, attempts "
              f"{x['attempts']}, fell back {x['fell_back']}, {x['objects']} objects")
    tok_s = med["output"] / med["model_s"] if med["model_s"] > 0 else float("nan")
    most = max(x["output"] for x in runs)
    print(f"median: prompt {med['prompt']:.0f} tokens (target <= {PROMPT_TARGET}: "
          f"{'ok' if med['prompt'] <= PROMPT_TARGET else 'OVER'}); output from the random model "
          f"{med['output']:.0f} tokens, at most {most} (target <= {OUTPUT_TARGET}: "
          f"{'ok' if med['output'] <= OUTPUT_TARGET else 'OVER'} in the median, "
          f"{'ok' if most <= OUTPUT_TARGET else 'OVER'} at most)")
    print(f"        a good reply for this scene: {r['good_reply_tokens']} tokens; grammar worst "
          f"case {r['grammar_max_chars']} characters")
    print(f"        planning overhead outside the model {med['overhead_s'] * 1000:.0f} ms; model "
          f"{med['model_s']:.2f} s ({tok_s:.0f} output tok/s incl. prompt processing)")
    mt = r["ms_per_token"]
    print(f"        sampling: {mt['free'] * 1000:.0f} ms/token free, {mt['grammar'] * 1000:.0f} "
          f"ms/token under the grammar (llama-cpp-python applies it to the whole vocabulary)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=Path, action="append", default=[],
                    help="vocabulary-only GGUF (llama.cpp models/ggml-vocab-*.gguf); repeatable")
    ap.add_argument("--no-byte-vocab", action="store_true", help="skip the byte-level vocabulary")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shape", choices=("tiny", "3b"), default="tiny",
                    help="tiny: 2 layers, 64 wide; 3b: Llama 3.2 3B dimensions (f16, ~6 GB)")
    ap.add_argument("--n-gpu-layers", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    import llama_cpp

    print(f"planner_llm benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, llama-cpp-python "
          f"{llama_cpp.__version__}, GPU offload built in: "
          f"{llama_cpp.llama_supports_gpu_offload()}")
    vocabs = ([] if args.no_byte_vocab else [None]) + list(args.vocab)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in vocabs:
            r = measure(v, repeat=args.repeat, shape=args.shape, n_gpu_layers=args.n_gpu_layers,
                        threads=args.threads, workdir=Path(tmp))
            report(r)
            results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
