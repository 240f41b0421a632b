#!/usr/bin/env bash
# Resolve the Temporal server binaries for the PostgreSQL-backed setup, and print their directory.
# The directory holds `temporal-server` (go.temporal.io/server cmd/server) and `temporal-sql-tool`
# (go.temporal.io/server cmd/tools/sql), plus the module's schema/postgresql/v12 next to it in ../schema.
# Order: $TEMPORAL_SERVER_BIN_DIR, our cached build, a `go install` at the server version that the CLI
# v1.5.1's dev server embeds (its go.mod requires go.temporal.io/server v1.29.1). With none, exit 3.
# Idempotent: when cached it only prints the path. TEMPORAL_SERVER_NO_BUILD=1 never builds (exit 3 instead):
# tests use it, so a missing build fails at once naming this script rather than building mid-test.
set -euo pipefail
VERSION=v1.29.1
MODULE=go.temporal.io/server
CACHE_DIR="${HOMELAB_RUNBOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-runbooks}/temporal-server-${VERSION}"
BIN_DIR="$CACHE_DIR/bin"

log() { echo "temporal-server: $*" >&2; }
complete() { [[ -x "$1/temporal-server" && -x "$1/temporal-sql-tool" && -d "$1/../schema/postgresql/v12" ]]; }

if [[ -n "${TEMPORAL_SERVER_BIN_DIR:-}" ]]; then
  complete "$TEMPORAL_SERVER_BIN_DIR" || {
    log "TEMPORAL_SERVER_BIN_DIR=$TEMPORAL_SERVER_BIN_DIR lacks temporal-server, temporal-sql-tool or ../schema/postgresql/v12"
    exit 2
  }
  echo "$TEMPORAL_SERVER_BIN_DIR"; exit 0
fi
if complete "$BIN_DIR"; then echo "$BIN_DIR"; exit 0; fi
if [[ -n "${TEMPORAL_SERVER_NO_BUILD:-}" ]]; then
  log "not built yet: run scripts/temporal-server.sh once (a Go build of ${MODULE}@${VERSION}, a few minutes)"
  exit 3
fi
command -v go >/dev/null 2>&1 || { log "Go is not installed (apt-get install golang-go, or https://go.dev/dl/)"; exit 3; }

# One build at a time (npm start and npm test may both get here): the second waits, then finds it cached.
mkdir -p "${CACHE_DIR%/*}"
exec 9>"${CACHE_DIR%/*}/.temporal-server-${VERSION}.lock"
flock 9
if complete "$BIN_DIR"; then echo "$BIN_DIR"; exit 0; fi

log "building temporal-server and temporal-sql-tool ${MODULE}@${VERSION} with $(go version): takes a few minutes once"
# Build into a scratch GOBIN and move into place last, so an interrupted build never looks cached.
STAGE="$(mktemp -d "${CACHE_DIR%/*}/.temporal-server-build.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
if ! GOBIN="$STAGE/bin" go install "${MODULE}/cmd/server@${VERSION}" "${MODULE}/cmd/tools/sql@${VERSION}" >&2; then
  log "go install ${MODULE}/cmd/server@${VERSION} ${MODULE}/cmd/tools/sql@${VERSION} failed (see above)"
  exit 3
fi
mv "$STAGE/bin/server" "$STAGE/bin/temporal-server"
mv "$STAGE/bin/sql" "$STAGE/bin/temporal-sql-tool"
# The versioned schema the sql tool applies ships in the module, not in the binaries: keep a copy beside them.
MOD_DIR="$(go env GOMODCACHE)/${MODULE}@${VERSION}"
mkdir -p "$STAGE/schema"
cp -R "$MOD_DIR/schema/postgresql" "$STAGE/schema/"
chmod -R u+w "$STAGE/schema"
rm -rf "$CACHE_DIR"
mkdir -p "$CACHE_DIR"
mv "$STAGE/bin" "$STAGE/schema" "$CACHE_DIR/"
log "built into $BIN_DIR"
echo "$BIN_DIR"
