# Installs squawk (PostgreSQL migration linter, PyPI squawk-cli, pinned) under <repo>/.cache/squawk and prints the binary's path.
#
# Usage: bash scripts/install-squawk.sh   (idempotent: an existing install is reused)
set -euo pipefail

version="2.70.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$repo_root/.cache/squawk"
bin="$target/bin/squawk"

if [[ -x "$bin" ]] && [[ "$(cat "$target/.version" 2>/dev/null)" == "$version" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "install-squawk: python3 with pip is required" >&2; exit 1; }
mkdir -p "$repo_root/.cache"
scratch="$(mktemp -d "$repo_root/.cache/squawk.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --target "$scratch" "squawk-cli==$version" >&2
rm -rf "$target"
mv "$scratch" "$target"
trap - EXIT
printf '%s\n' "$version" > "$target/.version"
printf '%s\n' "$bin"
