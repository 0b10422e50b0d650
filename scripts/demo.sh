#!/usr/bin/env bash
# The main job: set up, then simulate dense vs N:M (BDWP) training of ResNet-18, ResNet-50,
# VGG-16 and ViT-B/16 on the SAT-style accelerator; table + plots in out/demo/.
# Extra arguments go to `archsim demo` (e.g. --out DIR --models resnet18 --batch 16).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-system
exec .venv/bin/archsim demo "$@"
