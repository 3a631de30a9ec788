#!/usr/bin/env bash
# Each learning test's margin on its own seed (12345) and two others, with oneDNN's native kernels
# and with them held to AVX2 (as on an AVX2-only CPU, where auto precision also means fp32).
# Usage: eval/learning_margins.sh [SEEDS] [ISAS] [TESTS]
#   e.g. eval/learning_margins.sh "12345 1 2" "native AVX2" FinetuneTest
# Prints one line per test figure; the logs stay in work/margins/.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-12345 1 2}
isas=${2:-native AVX2}
tests=${3:-FinetuneTest,PretrainLearningTest,CoreTest}
mkdir -p work/margins
for isa in $isas; do
  for seed in $seeds; do
    log=work/margins/$isa-$seed.log
    if [[ $isa == native ]]; then
      env -u ONEDNN_MAX_CPU_ISA mvn -o -B test -Dtest="$tests" -Dcorebert.test.seed="$seed" >"$log" 2>&1 || true
    else
      ONEDNN_MAX_CPU_ISA=$isa mvn -o -B test -Dtest="$tests" -Dcorebert.test.seed="$seed" >"$log" 2>&1 || true
    fi
    grep -E "training seed|precision (fp32|bf16)|dev accuracy|held-out MLM loss:|700 steps:|Tests run:.*Fail" "$log" \
      | grep -v " in corebert" | sort -u | sed "s/^/[$isa seed $seed] /"
  done
done
