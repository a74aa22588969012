#!/usr/bin/env bash
# The device call rehearsed on this machine's CPU: scripts/device/rehearse_device.sh (scripts/device/README.md says what each file does).
exec bash "$(dirname "${BASH_SOURCE[0]}")/device/rehearse_device.sh" "$@"
