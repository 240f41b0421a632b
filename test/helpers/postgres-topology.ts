// What the PostgreSQL-backed e2e (test/e2e/postgres.test.ts) runs and docker-compose.yml must match:
// one place for the versions and the set-up files, read by both the e2e helpers and the compose check.
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
/** Builds (or finds) temporal-server and temporal-sql-tool; its VERSION is the server version tested. */
export const SERVER_SCRIPT = 'scripts/temporal-server.sh';
/** The schema set-up with temporal-sql-tool (compose: the temporal-schema service). */
export const SCHEMA_SCRIPT = 'scripts/temporal-postgres-schema.sh';
/** The namespace and search attributes with the `temporal` CLI (compose: the temporal-namespace service). */
export const NAMESPACE_SCRIPT = 'scripts/temporal-namespace-setup.sh';
/** The PostgreSQL major the e2e runs (Debian 12's postgresql-15). */
export const POSTGRES_MAJOR = 15;

/** go.temporal.io/server's version as scripts/temporal-server.sh builds it, without the "v": "1.29.1". */
export function temporalServerVersion(): string {
  const m = /^VERSION=v(\d+\.\d+\.\d+)$/m.exec(fs.readFileSync(path.join(ROOT, SERVER_SCRIPT), 'utf8'));
  if (!m) throw new Error(`no VERSION=v<x.y.z> line in ${SERVER_SCRIPT}`);
  return m[1]!;
}
