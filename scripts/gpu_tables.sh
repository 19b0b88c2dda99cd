#!/usr/bin/env bash
# The paper's Tables 1-3 on one GPU (issue 11), in the background, so that the device machine's 10-minute command
# limit only bounds how long we watch, not how long it trains. Run after `source scripts/gpu_setup.sh`.
#   scripts/gpu_tables.sh start MINUTES   # phantoms, then every run at once per seed, extended to fit MINUTES
#   scripts/gpu_tables.sh watch SECONDS   # a progress line a minute until the runner ends or SECONDS pass
#   scripts/gpu_tables.sh collect DIR     # the tables, the runner's log and every run's log and metrics to DIR
# Runs resume from their last finished epoch: `start` again (on a machine that kept /tmp/gpu_runs) continues.
# The environment can shrink it for a dry run on the CPU (tests/test_gpu_scripts.py): GPU_RUNS (folder), PYTHON,
# SIZE, SAMPLES, SEEDS, RUNS, JOBS, WORKERS, EPOCHS (the first stage), WATCH_EVERY (seconds).
set -u
OUT_DIR=${GPU_RUNS:-/tmp/gpu_runs}
PYTHON=${PYTHON:-python3}
NAME=gpu_tables
RUNS=${RUNS:-"baseline baseline+pbha baseline+amff gamanet loss_grad loss_ssim loss_berhu fdsi fde"}
case "${1:-}" in
start)
    mkdir -p "$OUT_DIR"
    PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True setsid nohup "$PYTHON" -m experiments.paper_tables \
        --out "$OUT_DIR" --size ${SIZE:-480 240} --samples "${SAMPLES:-2000}" --seeds ${SEEDS:-0 1 2} --runs $RUNS \
        --jobs "${JOBS:-9}" --threads 1 \
        --workers "${WORKERS:-16}" --settings bundle --cache-on-device --shared-cache --epochs "${EPOCHS:-2}" --minutes "$2" --name $NAME \
        >>"$OUT_DIR/runner.log" 2>&1 </dev/null &
    echo "runner started (pid $!), log $OUT_DIR/runner.log"
    ;;
watch)
    end=$((SECONDS + $2))
    while ((SECONDS < end)); do
        running=$(pgrep -f "experiments.paper_tables --out $OUT_DIR" | head -1)
        epochs=$(grep -ho "Epoch\[[0-9]*\] Metrics" "$OUT_DIR"/seed*/*/log.txt 2>/dev/null | wc -l)
        gpu=$(nvidia-smi --query-gpu=utilization.gpu,memory.used,memory.total --format=csv,noheader 2>/dev/null)
        stage=$(grep -h "stage to epoch" "$OUT_DIR/runner.log" 2>/dev/null | tail -1 | cut -c 1-150)
        echo "$(date +%T) validated epochs (all runs) $epochs; GPU $gpu; ${stage:-first stage running}"
        [ -z "$running" ] && { echo "runner finished"; break; }
        sleep "${WATCH_EVERY:-60}"
    done
    for f in "$OUT_DIR"/seed*/*/log.txt; do
        last=$(grep -o "Epoch\[[0-9]*\] Metrics.*val_delta1: [0-9.]*" "$f" | tail -1 | sed 's/ Metrics -- .*val_delta1:/ δ1/')
        echo "${f#$OUT_DIR/}: ${last:-no epoch yet}"
    done
    grep -h "ERROR\|Traceback\|failed" "$OUT_DIR/runner.log" | tail -5
    ;;
collect)
    mkdir -p "$2"
    cp "$OUT_DIR/$NAME.md" "$OUT_DIR/$NAME.json" "$2"/ 2>/dev/null
    cp "$OUT_DIR/runner.log" "$2"/
    (cd "$OUT_DIR" && tar czf "$2/logs.tar.gz" ${NAME}_e*.* seed*/*/log.txt seed*/*/eval/metrics.json seed*/references_*.json 2>/dev/null)
    ls -la "$2"
    ;;
*)
    echo "usage: $0 start MINUTES | watch SECONDS | collect DIR" >&2
    exit 2
    ;;
esac
