#!/usr/bin/env bash
# Screenshots of the MOS rating app (sgenlib.mos.app.RatingApp) as JupyterLab shows it, headless:
# the source-images screen and the first rating screen, for a throw-away rater id whose (empty)
# ratings folder is temporary, so no rating is ever written to results/.
#   scripts/screenshot_mos.sh [--profile smoke] [--results results] [--out-dir results/<profile>]
# Uses scripts/screenshot_viewer.sh (Chromium over DevTools) on a small executed notebook.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
PYTHON="${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python)}"
profile="smoke"; results="results"; outdir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --out-dir) outdir="$2"; shift 2 ;;
    *) echo "screenshot_mos.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
outdir="${outdir:-$results/$profile}"
gallery="$results/$profile/mos_set"
[[ -f "$gallery/index.csv" ]] || gallery="$results/$profile/gallery"
[[ -f "$gallery/index.csv" ]] || { echo "screenshot_mos.sh: no rating set or gallery under $results/$profile" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for screen in source rating; do
  "$PYTHON" scripts/screenshot_mos_notebook.py "$tmp/mos_$screen.ipynb" "$here/$gallery" "$tmp/ratings" "$screen"
  "$PYTHON" -m papermill "$tmp/mos_$screen.ipynb" "$tmp/mos_${screen}_run.ipynb" -k python3 --cwd "$here" >/dev/null 2>&1
  PYTHON="$PYTHON" scripts/screenshot_viewer.sh --profile "$profile" --results "$results" \
    --notebook "$tmp/mos_${screen}_run.ipynb" --out "$outdir/mos_app_${screen}_screenshot.png" --window 1400x1100
done
ls -la "$outdir"/mos_app_*_screenshot.png
