// A Temporal dev server run as a child process that a test can stop and start again on the same
// port and the same SQLite file (TestWorkflowEnvironment cannot restart its server).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../../src/shared/temporal-cli';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';
import { freePort } from './temporal';
import { ServerProcess } from './server-process';


export class DevServerProcess {
  private readonly proc: ServerProcess;

  private constructor(
    readonly cli: string,
    readonly dir: string,
    readonly port: number,
  ) {
    this.proc = new ServerProcess('the dev server', path.join(dir, 'server.log'));
  }

  /** How many times up() brought the server up. */
  get starts(): number {
    return this.proc.starts;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  get dbFile(): string {
    return path.join(this.dir, 't.db');
  }
  get running(): boolean {
    return this.proc.running;
  }

  /** A new server on a free loopback port, its state in a fresh directory. */
  static async start(): Promise<DevServerProcess> {
    const cli = resolveTemporalCli();
    if (!cli) throw new Error('no Temporal CLI found (scripts/temporal-cli.sh)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-'));
    const server = new DevServerProcess(cli, dir, await freePort());
    try {
      await server.up();
    } catch (err) {
      await server.stop({ removeDir: true });
      throw err;
    }
    return server;
  }

  /** Starts the server (again): same port, same --db-filename. Resolves once it answers. */
  async up(timeoutMs = 60_000): Promise<void> {
    const args = [
      'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(this.port),
      '--db-filename', this.dbFile, '--log-level', 'warn',
      ...RUNBOOK_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ];
    await this.proc.start(this.cli, args, {}, { ready: () => this.answers(), timeoutMs, everyMs: 200 });
  }

  private async answers(): Promise<void> {
    const conn = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
    try {
      await conn.workflowService.getSystemInfo({});
      await conn.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await conn.close();
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the SQLite file stays unless removeDir. */
  async stop(opts: { removeDir?: boolean; signal?: NodeJS.Signals } = {}): Promise<void> {
    await this.proc.stop(opts.signal ?? 'SIGTERM', 10_000);
    if (opts.removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Down for `downMs`, then up again on the same port and database. */
  async restart(downMs = 1_000): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }

  logTail(n = 2_000): string {
    return this.proc.logTail(n);
  }
}
