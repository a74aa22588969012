#!/usr/bin/env bash
# What the device call carries (.celeba_carry, .whl, .device_commit): scripts/device/prepare_device_carry.sh (scripts/device/README.md says what each file does).
exec bash "$(dirname "${BASH_SOURCE[0]}")/device/prepare_device_carry.sh" "$@"
