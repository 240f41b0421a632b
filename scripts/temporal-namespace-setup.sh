#!/bin/sh
# After the server answers: the namespace and the runbooks' search attributes, with the `temporal` CLI
# (the plain temporalio/server image creates neither; auto-setup did). Run by docker-compose.yml's
# temporal-namespace service (temporalio/admin-tools) and by test/e2e/postgres.test.ts, the same file.
# Waits like temporalio/samples-server compose/scripts/create-namespace.sh (b7bc4c5). Idempotent: an
# existing namespace is kept, and AddSearchAttributes skips names already there
# (go.temporal.io/server v1.29.1 service/frontend/operator_handler.go addSearchAttributesSQL).
# The names are RUNBOOK_SEARCH_ATTRIBUTES (src/workflows/runbook/search-attributes.ts; a unit test compares).
set -eu
TEMPORAL="${TEMPORAL_CLI:-temporal}"
: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS: host:port of the Temporal frontend}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTEMPTS="${TEMPORAL_SETUP_ATTEMPTS:-60}"

attempt=1
until "$TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  [ "$attempt" -lt "$ATTEMPTS" ] || { echo "temporal-namespace-setup: $TEMPORAL_ADDRESS not healthy after $ATTEMPTS tries" >&2; exit 1; }
  attempt=$((attempt + 1)); sleep 1
done
if ! "$TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
  "$TEMPORAL" operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --retention 30d
fi
# A namespace just registered is "not found" until the server's namespace cache refreshes (about 10 s): retry.
for name in RunbookName RunbookTarget RunbookWaitingOn; do
  attempt=1
  until out="$("$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" --name "$name" --type Keyword 2>&1)"; do
    [ "$attempt" -lt "$ATTEMPTS" ] || { echo "temporal-namespace-setup: search attribute $name: $out" >&2; exit 1; }
    attempt=$((attempt + 1)); sleep 1
  done
done
echo "temporal-namespace-setup: namespace $NAMESPACE with search attributes on $TEMPORAL_ADDRESS"
