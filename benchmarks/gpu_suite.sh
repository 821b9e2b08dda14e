#!/usr/bin/env bash
# The GPU checks, for a machine with a CUDA device (none was available when these benchmarks were
# first measured). Installs CuPy (and torch for the comparison), runs every test that exercises the
# CuPy backend (they skip with a reason elsewhere), then the GPU benchmarks. Output: gpu_suite.log.
#
#   bash benchmarks/gpu_suite.sh            # from the repository root
set -uo pipefail
cd "$(dirname "$0")/.."
log=${OUT:-.}/gpu_suite.log
{
  python -m pip install -q -e ".[test,gpu]" && python -m pip install -q torch || true
  python -m mdpgrad info
  # Every backend-agreement test that has a CuPy variant, plus the GPU-only LLM tests.
  python -m pytest -q -rs -k "cupy or backend or gpu" tests/
  python benchmarks/bench_llm_bandits.py --backend numpy,numba,cupy,torch   # target: CuPy >= 20x NumPy
  python benchmarks/bench_games.py                                          # Nash-MP / Nash-MD at K = 10,000
} 2>&1 | tee "$log"
