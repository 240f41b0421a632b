#!/usr/bin/env bash
# Resolve the Temporal CLI used for the dev server, and print its path.
# Order: $TEMPORAL_CLI, `temporal` on PATH, our cached build, a `go install` of v1.5.1 (newer tags
# carry a replace directive and will not `go install`). With none of those, print nothing and exit 3:
# callers then fall back to the SDK's own download (the path users with internet get).
set -euo pipefail
VERSION=v1.5.1
CACHE_DIR="${HOMELAB_RUNBOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-runbooks}/temporal-${VERSION}"
CACHED="$CACHE_DIR/bin/temporal"

log() { echo "temporal-cli: $*" >&2; }

if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  [[ -x "$TEMPORAL_CLI" ]] || { log "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file"; exit 2; }
  echo "$TEMPORAL_CLI"; exit 0
fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi
if [[ -x "$CACHED" ]]; then echo "$CACHED"; exit 0; fi
if command -v go >/dev/null 2>&1; then
  log "building github.com/temporalio/cli/cmd/temporal@${VERSION} with $(go version) (3 to 8 minutes on 2 cores, once; cached in $CACHE_DIR)"
  mkdir -p "$CACHE_DIR/bin"
  if GOBIN="$CACHE_DIR/bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/temporalio/cli/cmd/temporal@${VERSION}" >&2; then
    echo "$CACHED"; exit 0
  fi
  log "go install failed; falling back to the SDK download"
fi
log "no Temporal CLI found; the SDK will download one (needs internet)"
exit 3
