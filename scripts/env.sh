# Sourced by the scripts: point ktnb at the shared data sets beside this checkout, when present.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${KTNB_DATA_DIR:-}" ] && [ -d "$repo/../shared/data" ]; then
  export KTNB_DATA_DIR="$repo/../shared/data"
fi
export TOKENIZERS_PARALLELISM=false
