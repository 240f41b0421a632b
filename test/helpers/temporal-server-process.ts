// The Temporal server (go.temporal.io/server cmd/server, built by scripts/temporal-server.sh) on a
// PostgreSQL cluster, as a child process a test can kill and start again: schema by
// scripts/temporal-postgres-schema.sh, namespace and search attributes by scripts/temporal-namespace-setup.sh
// (the same files docker-compose.yml runs). Every port it opens is a free one on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import YAML from 'yaml';
import { resolveTemporalCli } from '../../src/shared/temporal-cli';
import { ServerProcess } from './server-process';
import type { PostgresCluster } from './postgres-cluster';
import { NAMESPACE_SCRIPT, ROOT, SCHEMA_SCRIPT, SERVER_SCRIPT } from './postgres-topology';
import { freePort } from './temporal';

/** The bin dir of a finished build; never builds (that is the set-up's job, minutes long). */
export function temporalServerBinDir(): string {
  try {
    return execFileSync('bash', [path.join(ROOT, SERVER_SCRIPT)], {
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_SERVER_NO_BUILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    const why = String((err as { stderr?: string }).stderr ?? err).trim();
    throw new Error(`the Temporal server binaries are missing: run ${SERVER_SCRIPT} first (${why})`);
  }
}

/** Temporal's two databases and their schema, with Temporal's own temporal-sql-tool. */
export function setUpSchema(binDir: string, db: PostgresCluster): string {
  return runScript(SCHEMA_SCRIPT, {
    POSTGRES_SEEDS: db.host,
    DB_PORT: String(db.port),
    POSTGRES_USER: db.user,
    SQL_PASSWORD: db.password,
    TEMPORAL_SQL_TOOL: path.join(binDir, 'temporal-sql-tool'),
    TEMPORAL_SCHEMA_DIR: path.join(binDir, '..', 'schema'),
  });
}

/** The default namespace and the runbooks' search attributes, with the `temporal` CLI. */
export function setUpNamespace(address: string): string {
  const cli = resolveTemporalCli();
  if (!cli) throw new Error('no Temporal CLI (scripts/temporal-cli.sh) to register the namespace and search attributes');
  return runScript(NAMESPACE_SCRIPT, { TEMPORAL_CLI: cli, TEMPORAL_ADDRESS: address });
}

function runScript(script: string, env: Record<string, string>): string {
  try {
    return execFileSync('sh', [path.join(ROOT, script)], { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${script} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`.trim());
  }
}

/** A loopback port below `limit` that was free a moment ago (random tries in 20000..limit-1). */
async function freePortBelow(limit: number, taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * (limit - 20_000));
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free loopback port below ${limit}`);
}

interface Ports {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** The server's config: config/development-postgres12.yaml of the module, on our ports and cluster. */
function serverConfig(db: PostgresCluster, p: Ports): object {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${db.host}:${db.port}`,
      connectProtocol: 'tcp',
      user: db.user,
      password: db.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1', ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: { 'postgres-default': store('temporal', 20), 'postgres-visibility': store('temporal_visibility', 2) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: rpc(p.frontend, p.frontendMembership, p.frontendHttp),
      history: rpc(p.history, p.historyMembership),
      matching: rpc(p.matching, p.matchingMembership),
      worker: rpc(p.worker, p.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${p.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
  };
}

export class TemporalServerProcess {
  private readonly proc: ServerProcess;

  private constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly ports: Ports,
  ) {
    this.proc = new ServerProcess('temporal-server', path.join(dir, 'server.log'));
  }

  /** How many times up() brought the server up. */
  get starts(): number {
    return this.proc.starts;
  }

  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }
  get running(): boolean {
    return this.proc.running;
  }

  /** Writes the config (0600: it holds the database password) and starts the server. */
  static async start(binDir: string, db: PostgresCluster): Promise<TemporalServerProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-server-'));
    const names = ['frontend', 'frontendHttp', 'frontendMembership', 'history', 'historyMembership', 'matching', 'matchingMembership', 'worker', 'workerMembership'] as const;
    const ports = {} as Ports;
    const taken = new Set<number>();
    for (const n of names) {
      // membership ports go into cluster_membership.rpc_port, a SMALLINT (schema/postgresql/v12/temporal/schema.sql):
      // a kernel-chosen port (32768 and up) fails the server's start with "out of range for type smallint"
      ports[n] = n.endsWith('Membership') ? await freePortBelow(32_768, taken) : await freePort();
      taken.add(ports[n]);
    }
    fs.mkdirSync(path.join(dir, 'config'));
    fs.writeFileSync(path.join(dir, 'config', 'postgres.yaml'), YAML.stringify(serverConfig(db, ports)), { mode: 0o600 });
    const server = new TemporalServerProcess(binDir, dir, ports);
    try {
      await server.up();
    } catch (err) {
      await server.stop({ removeDir: true });
      throw err;
    }
    return server;
  }

  /** Starts the server (again) on the same config; resolves once the frontend serves the default namespace's system. */
  async up(timeoutMs = 90_000): Promise<void> {
    const args = ['--root', this.dir, '--config', 'config', '--env', 'postgres', '--allow-no-auth', 'start'];
    await this.proc.start(path.join(this.binDir, 'temporal-server'), args, { cwd: this.dir }, { ready: () => this.answers(), timeoutMs, everyMs: 250 });
  }

  private async answers(): Promise<void> {
    const conn = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
    try {
      await conn.withDeadline(Date.now() + 3_000, () => conn.healthService.check({}));
      await conn.withDeadline(Date.now() + 3_000, () => conn.workflowService.getSystemInfo({}));
    } finally {
      await conn.close();
    }
  }

  /** Ends the process (SIGTERM by default, SIGKILL after 15 s); the database keeps everything. */
  async stop(opts: { signal?: NodeJS.Signals; removeDir?: boolean } = {}): Promise<void> {
    await this.proc.stop(opts.signal ?? 'SIGTERM', 15_000);
    if (opts.removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Killed (SIGKILL: no graceful shutdown, as a crash or an OOM kill), then started again. */
  async killAndRestart(downMs = 1_000): Promise<void> {
    await this.stop({ signal: 'SIGKILL' });
    await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }

  logTail(n = 3_000): string {
    return this.proc.logTail(n);
  }
}
