#!/usr/bin/env bash
# The study in one device call: scripts/device/gpu_run.sh (scripts/device/README.md says what each file does).
exec bash "$(dirname "${BASH_SOURCE[0]}")/device/gpu_run.sh" "$@"
