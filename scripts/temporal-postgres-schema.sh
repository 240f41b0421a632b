#!/bin/sh
# Temporal's two databases on PostgreSQL, set up with Temporal's own temporal-sql-tool: the one schema
# set-up for both ways of running it (docker-compose.yml's temporal-schema service runs this file in
# temporalio/admin-tools; test/e2e/postgres.test.ts runs it with the binaries of scripts/temporal-server.sh).
# The commands are Temporal's (temporalio/samples-server compose/scripts/setup-postgres.sh, b7bc4c5).
# Every step is idempotent (go.temporal.io/server v1.29.1): create-database ignores an existing database
# (common/persistence/sql/sqlplugin/postgresql/admin.go CreateDatabase), setup-schema -v 0.0 keeps a
# newer version (tools/common/schema/setuptask.go Run), update-schema applies only the missing versions.
# The password comes in SQL_PASSWORD, which temporal-sql-tool reads itself (tools/sql/main.go): never argv.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS: the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER: the PostgreSQL user}"
: "${SQL_PASSWORD:?SQL_PASSWORD: the PostgreSQL password (read by temporal-sql-tool)}"
export SQL_PASSWORD
SQL_TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"
SCHEMA_DIR="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}"
PORT="${DB_PORT:-5432}"

sql() { "$SQL_TOOL" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"; }

echo "temporal-postgres-schema: $POSTGRES_SEEDS:$PORT, schema from $SCHEMA_DIR"
sql --db temporal create
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA_DIR/postgresql/v12/temporal/versioned"
sql --db temporal_visibility create
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA_DIR/postgresql/v12/visibility/versioned"
echo "temporal-postgres-schema: done"
