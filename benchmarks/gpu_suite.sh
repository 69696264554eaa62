#!/usr/bin/env bash
# The GPU checks of the fast path in one place, for a machine with a CUDA GPU:
#   bash benchmarks/gpu_suite.sh tests   # the gpu-marked tests (tests/test_gpu.py, CUDA training)
#   bash benchmarks/gpu_suite.sh infer   # gcnet benchmark: R50/R101 Cityscapes 1024x2048, R50 ADE20K
#   bash benchmarks/gpu_suite.sh train   # benchmarks/train_bench.py: 512x1024 crops, batch 2
# Results (logs and JSON) go to $RESULTS (default gpu-results/). Checkpoints are random
# official-layout files (no download needed); --mmseg rows appear when mmsegmentation is
# importable (pure-Python wheels: mmsegmentation 1.2.2, mmengine 0.10.7, mmcv-lite 2.1.0,
# addict, yapf, termcolor, prettytable, wcwidth, ftfy).
# CUDA graphs and pinned uploads are opt-in (never run on a GPU before): the R50 Cityscapes
# --ablation run adds a "with cuda graphs" and a "with pinned upload" row, and `infer` runs
# the ADE20K entry once more with both on (gcnet benchmark/predict --cuda-graphs --pinned-upload;
# FastOptions(cuda_graphs=True, pinned_upload=True) from Python).
set -o pipefail
RESULTS=${RESULTS:-gpu-results}
PYTHON=${PYTHON:-python3}
CHECKPOINTS=${CHECKPOINTS:-$(mktemp -d)}
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1 GCNET_CACHE_DIR=${GCNET_CACHE_DIR:-$CHECKPOINTS/cache}

bench() {  # bench NAME [extra gcnet benchmark options...]
    local name=$1; shift
    "$PYTHON" benchmarks/random_checkpoint.py "$name" "$CHECKPOINTS/$name.pth" >/dev/null || return 1
    "$PYTHON" -m gcnet_core.cli benchmark --model "$name" --checkpoint "$CHECKPOINTS/$name.pth" \
        --json "$RESULTS/$name${TAG:-}.json" "$@" 2>&1 | grep -v "^Loads checkpoint" | tee "$RESULTS/$name${TAG:-}.log"
}

case "${1:-all}" in
    tests|all)
        "$PYTHON" -m pytest -q -p no:cacheprovider -m gpu -s tests/test_gpu.py tests/test_train.py 2>&1 \
            | tee "$RESULTS/gpu-tests.log" ;;&
    infer|all)
        bench gcnet_r50-d8_4xb2-40k_cityscapes-512x1024 --ablation --mmseg
        bench gcnet_r101-d8_4xb2-40k_cityscapes-512x1024 --mmseg
        bench gcnet_r50-d8_4xb4-80k_ade20k-512x512 --images 200 --folder 200 --mmseg
        TAG=-opt-in bench gcnet_r50-d8_4xb4-80k_ade20k-512x512 --images 200 --folder 200 \
            --cuda-graphs --pinned-upload ;;&
    train|all)
        "$PYTHON" benchmarks/train_bench.py 2>&1 | tee "$RESULTS/train-bench.log" ;;
esac
