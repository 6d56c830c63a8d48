#!/usr/bin/env bash
# Runs schism's whole test suite: unit, property, corpus and end-to-end cluster tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace --bins
cargo test --workspace
