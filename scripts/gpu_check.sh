#!/usr/bin/env bash
# One prepared device check for a GPU machine (issue #20), at most ~10 minutes on one H100; everything to stdout,
# for BENCHMARKS.md. Run it from the repository root of an installed checkout:
#
#     bash scripts/gpu_check.sh                          # cuda, bfloat16
#     DEVICE=cpu DTYPE=float32 DOCS=60 STEPS=2 HIDDEN=64 LAYERS=1 TIMING_DOCS=2 TIMING_BATCH_SIZES=1 \
#         bash scripts/gpu_check.sh                      # a smoke run on a CPU (tests/test_gpu_check.py)
#
# What it checks, in order:
#   1. bfloat16 LoRA training of a small Llama built from a config (no weights to fetch), with gradient
#      checkpointing, on a layout-only build: the --dry-run memory plan, then the card's tokens/s and peak memory.
#   2. pip-bench evaluate of that adapter folder on the device in AR and PIP mode, timed with CUDA synchronisation.
#   3. the shipped pip-ref on the device against every AR mode (ar, ar-lookup, ar-static, where ar-static compiles
#      the decode step on CUDA), timed side by side.
#   4. an image model: a small Idefics3 built from a config, run on rendered pages in AR and PIP mode (untrained:
#      it shows the image path and its timing on the device, not accuracy).
#   5. a line per results file: hardware, F1 and p50 per mode, PIP's speedup.
# Image-model training is not in it: pip-bench train teaches text models only so far.
set -euo pipefail

DEVICE="${DEVICE:-cuda}"
DTYPE="${DTYPE:-bfloat16}"
DOCS="${DOCS:-1200}"
STEPS="${STEPS:-300}"
HIDDEN="${HIDDEN:-512}"   # the Llama of step 1: 512 x 8 layers is ~30M parameters
LAYERS="${LAYERS:-8}"
WORK="${WORK:-$(mktemp -d)}"
TIMING=(--timing-docs "${TIMING_DOCS:-30}" --timing-batch-sizes "${TIMING_BATCH_SIZES:-1,8,32}" --warmup 2)

echo "== gpu_check: device $DEVICE, dtype $DTYPE, $DOCS documents, $STEPS steps, work folder $WORK"
date -u
python - <<'EOF'
import platform, torch, transformers
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
print(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, gpu {gpu}")
EOF
git log -1 --format='commit %H' 2>/dev/null || true

echo "== data"
datagen build --n "$DOCS" --seed 3 --image-format none --out "$WORK/data" 2>&1 | tail -n 1

echo "== 1. LoRA training of a small Llama built from a config"
python - "$WORK/llama" "$HIDDEN" "$LAYERS" <<'EOF'
import sys
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from datagen.build_plan import DEFAULT_TOKENIZER

tokenizer = AutoTokenizer.from_pretrained(DEFAULT_TOKENIZER)
hidden, layers = int(sys.argv[2]), int(sys.argv[3])
config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=3 * hidden, num_hidden_layers=layers,
                     num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=4096,
                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
model = LlamaForCausalLM(config)
model.save_pretrained(sys.argv[1])
tokenizer.save_pretrained(sys.argv[1])
print(f"llama: {sum(p.numel() for p in model.parameters()):,} parameters")
EOF
TRAIN=(train --mode pip --init "$WORK/llama" --head lm --lora 16 --lr 1e-3 --dataset "$WORK/data" --steps "$STEPS" --eval-docs 50
       --device "$DEVICE" --dtype "$DTYPE" --gradient-checkpointing --out "$WORK/llama-pip")
pip-bench "${TRAIN[@]}" --dry-run
pip-bench "${TRAIN[@]}" 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -n 3
grep -E 'steps in|memory:|mode,' "$WORK/llama-pip/README.md"

echo "== 2. the adapter folder evaluated on the device"
pip-bench evaluate "$WORK/llama-pip" --dataset "$WORK/data" --limit 100 --modes ar,pip --max-new-tokens 256 \
    --device "$DEVICE" --dtype "$DTYPE" --batch-size 16 "${TIMING[@]}" --output-dir "$WORK/results" 2>/dev/null

echo "== 3. pip-ref against every AR mode"
pip-bench evaluate pip-ref --dataset "$WORK/data" --limit 100 --modes ar,ar-lookup,ar-static,pip \
    --device "$DEVICE" --batch-size 32 "${TIMING[@]}" --output-dir "$WORK/results" 2>/dev/null

echo "== 4. an image model on rendered pages"
python -c "from pathlib import Path; from tests.tiny_models import tiny_idefics3; tiny_idefics3(Path('$WORK/idefics3'))"
pip-bench evaluate "$WORK/idefics3" --dataset "$WORK/data" --limit 24 --modes ar,pip --max-new-tokens 32 \
    --device "$DEVICE" --batch-size 8 --timing-docs 8 --timing-batch-sizes 1,8 --warmup 1 --output-dir "$WORK/results" 2>/dev/null

echo "== 5. results files"
python - "$WORK/results" <<'EOF'
import json, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1]).glob("results_*.json")):
    r = json.loads(path.read_text())
    modes = {m: (round(x["metrics"]["f1"], 4), x["timing"] and x["timing"]["latency"]["p50_ms"]) for m, x in r["modes"].items()}
    print(path.name, r["environment"]["hardware"], modes, "speedup p50:", (r.get("speedup") or {}).get("latency_p50"))
EOF
if [ "$DEVICE" = cuda ]; then nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true; fi
date -u
echo "== gpu_check done"
