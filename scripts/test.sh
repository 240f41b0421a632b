#!/usr/bin/env bash
# The test command (README): set-up (everything the tests need, installed once: scripts/setup.mjs),
# type-check, lint, then every unit and end-to-end test in one node:test run.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/setup.mjs test
npx tsc --noEmit -p .
npx eslint src test lab scripts
# The lab's qm polls the guest agent every 40 ms instead of the real 1 s: tests assert outcomes, and
# `npm run bench` (and npm start's lab) keep the real cost.
export LAB_AGENT_POLL_MS=${LAB_AGENT_POLL_MS:-40}
# Files run one after another: each starts its own dev server (and lab), and the machine has 2 cores.
node --import tsx --test --test-concurrency=1 --test-timeout=900000 test/unit/*.test.ts test/e2e/*.test.ts
