// docker-compose.yml describes the topology test/e2e/postgres.test.ts runs (Docker is not on the CI
// machine, so this reads the file): no deprecated auto-setup, images pinned to the versions the e2e
// tests, every published port on 127.0.0.1, a healthcheck-ordered start, and the schema, namespace and
// search attributes set up by the very files the e2e runs, with the commands and versions it uses.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { NAMESPACE_SCRIPT, POSTGRES_MAJOR, ROOT, SCHEMA_SCRIPT, temporalServerVersion } from '../helpers/postgres-topology';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';

interface Service {
  image?: string;
  build?: unknown;
  ports?: (string | { host_ip?: string; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown };
  environment?: Record<string, string | number> | string[];
  volumes?: string[];
  entrypoint?: string | string[];
  command?: string | string[];
}

const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const byImage = (repo: string) => services.filter(([, s]) => s.image?.split(':')[0] === repo);
const tag = (s: Service): string => s.image?.split(':')[1] ?? '';
const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
const script = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The service that runs `file`: mounted from the repository and its entrypoint (or command) runs that mount. */
function serviceRunning(file: string): [string, Service] {
  const hits = services.filter(([, s]) => {
    const mount = s.volumes?.map((v) => v.split(':')).find(([from]) => path.normalize(from!) === path.normalize(`./${file}`));
    if (!mount) return false;
    const argv = [s.entrypoint ?? [], s.command ?? []].flat().join(' ');
    return argv.includes(mount[1]!);
  });
  assert.equal(hits.length, 1, `exactly one service mounts ./${file} and runs it: ${hits.map(([n]) => n).join(', ')}`);
  return hits[0]!;
}

/** The temporal-sql-tool calls of the schema script: "<db> <command> [args]" with its variables as written. */
function sqlToolCalls(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^sql --db (\S+) (.+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
}

describe('docker-compose.yml matches the PostgreSQL topology the e2e runs', () => {
  it('uses no auto-setup image, and every image is pinned (a tag, never :latest)', () => {
    for (const [name, s] of services) {
      if (!s.image) {
        assert.ok(s.build, `${name} has an image or a build`);
        continue;
      }
      assert.doesNotMatch(s.image, /auto-setup/, `${name}: temporalio/auto-setup is deprecated`);
      assert.match(s.image, /^[\w./-]+:[\w.-]+$/, `${name}: ${s.image} has a tag`);
      assert.notEqual(tag(s), 'latest', `${name}: ${s.image}`);
    }
  });

  it('runs the server version scripts/temporal-server.sh builds, and the PostgreSQL major the e2e runs', () => {
    const version = temporalServerVersion();
    const servers = byImage('temporalio/server');
    assert.equal(servers.length, 1, 'one temporalio/server service');
    assert.equal(tag(servers[0]![1]), version);
    const tools = byImage('temporalio/admin-tools');
    assert.ok(tools.length >= 2, 'admin-tools runs the schema set-up and the namespace set-up');
    for (const [name, s] of tools) assert.ok(tag(s) === version || tag(s).startsWith(`${version}-`), `${name}: ${s.image} is for server ${version}`);
    const pg = byImage('postgres');
    assert.equal(pg.length, 1, 'one postgres service');
    assert.equal(tag(pg[0]![1]).split('.')[0], String(POSTGRES_MAJOR), `${pg[0]![1].image}: the e2e runs PostgreSQL ${POSTGRES_MAJOR}`);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, s] of services) {
      for (const p of s.ports ?? []) {
        if (typeof p === 'string') assert.match(p, /^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/, `${name}: ${p}`);
        else assert.equal(p.host_ip, '127.0.0.1', `${name}: ${JSON.stringify(p)}`);
      }
    }
  });

  it('starts in healthcheck order: every depends_on has a condition its target can meet', () => {
    for (const [name, s] of services) {
      if (!s.depends_on) continue;
      assert.ok(!Array.isArray(s.depends_on), `${name}: depends_on as a list only orders container starts`);
      for (const [dep, { condition }] of Object.entries(s.depends_on)) {
        const target = compose.services[dep];
        assert.ok(target, `${name} depends on a service ${dep}`);
        assert.ok(condition === 'service_healthy' || condition === 'service_completed_successfully', `${name} -> ${dep}: ${condition}`);
        if (condition === 'service_healthy') assert.ok(target.healthcheck?.test, `${dep} has a healthcheck for ${name} to wait on`);
      }
    }
    const [schemaName] = serviceRunning(SCHEMA_SCRIPT);
    const [namespaceName] = serviceRunning(NAMESPACE_SCRIPT);
    const [serverName, server] = byImage('temporalio/server')[0]!;
    const deps = (s: Service) => s.depends_on as Record<string, { condition?: string }>;
    assert.equal(deps(server)[schemaName]?.condition, 'service_completed_successfully', 'the server starts after the schema is set up');
    assert.equal(deps(compose.services[namespaceName]!)[serverName]?.condition, 'service_healthy', 'the namespace is set up once the server is healthy');
    const worker = services.find(([, s]) => s.build)![1];
    assert.equal(deps(worker)[namespaceName]?.condition, 'service_completed_successfully', 'the worker starts after the search attributes exist');
  });

  it('sets up the schema with the e2e\'s own script: temporal-sql-tool, postgres12, 0.0 then the versioned dirs', () => {
    const [name, s] = serviceRunning(SCHEMA_SCRIPT);
    const text = script(SCHEMA_SCRIPT);
    assert.match(text, /^sql\(\) \{ "\$SQL_TOOL" --plugin postgres12 /m);
    assert.deepEqual(sqlToolCalls(text), [
      'temporal create',
      'temporal setup-schema -v 0.0',
      'temporal update-schema -d "$SCHEMA_DIR/postgresql/v12/temporal/versioned"',
      'temporal_visibility create',
      'temporal_visibility setup-schema -v 0.0',
      'temporal_visibility update-schema -d "$SCHEMA_DIR/postgresql/v12/visibility/versioned"',
    ]);
    const e = env(s);
    for (const v of ['POSTGRES_SEEDS', 'POSTGRES_USER', 'SQL_PASSWORD']) assert.ok(e[v], `${name} sets ${v}`);
    assert.equal(e.TEMPORAL_SCHEMA_DIR ?? '/etc/temporal/schema', '/etc/temporal/schema', 'admin-tools keeps the schema in /etc/temporal/schema');
    // the server reads the databases the schema service set up, as the same user
    const server = env(byImage('temporalio/server')[0]![1]);
    assert.equal(server.DB, 'postgres12');
    assert.equal(server.POSTGRES_SEEDS, e.POSTGRES_SEEDS);
    assert.equal(server.POSTGRES_USER, e.POSTGRES_USER);
    assert.equal(server.POSTGRES_PWD, e.SQL_PASSWORD);
    assert.equal(server.DB_PORT ?? '5432', e.DB_PORT ?? '5432');
  });

  it('registers the namespace and exactly the runbooks\' search attributes with the e2e\'s own script', () => {
    const [name, s] = serviceRunning(NAMESPACE_SCRIPT);
    const text = script(NAMESPACE_SCRIPT);
    const m = /^for name in ([\w ]+); do$/m.exec(text);
    assert.ok(m, `${NAMESPACE_SCRIPT} loops over the attribute names`);
    assert.deepEqual(m[1]!.split(' ').sort(), RUNBOOK_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    assert.match(text, /operator search-attribute create .*--name "\$name" --type Keyword/);
    assert.equal(env(s).TEMPORAL_ADDRESS, `${byImage('temporalio/server')[0]![0]}:7233`, `${name} talks to the server on the compose network`);
  });
});
