// A Temporal dev server run as a child process that a test can stop and start again on the same
// port and the same SQLite file (TestWorkflowEnvironment cannot restart its server).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { resolveTemporalCli } from '../../src/shared/temporal-cli';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';
import { freePort } from './temporal';
import { trackChild } from './children';


export class DevServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** How many times start() brought the server up. */
  starts = 0;

  private constructor(
    readonly cli: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  get dbFile(): string {
    return path.join(this.dir, 't.db');
  }
  get running(): boolean {
    return this.child !== undefined;
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
    if (this.child) return;
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    const args = [
      'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(this.port),
      '--db-filename', this.dbFile, '--log-level', 'warn',
      ...RUNBOOK_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ];
    const child = spawn(this.cli, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    trackChild(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.child) throw new Error(`the dev server exited at start; log: ${this.logTail()}`);
      try {
        const conn = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        try {
          await conn.workflowService.getSystemInfo({});
          await conn.workflowService.describeNamespace({ namespace: 'default' });
        } finally {
          await conn.close();
        }
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the dev server did not answer in ${timeoutMs} ms: ${String(err)}; log: ${this.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.starts += 1;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s); the SQLite file stays unless removeDir. */
  async stop(opts: { removeDir?: boolean; signal?: NodeJS.Signals } = {}): Promise<void> {
    const child = this.child;
    if (child) {
      const exited = this.exited!;
      child.kill(opts.signal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (opts.removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Down for `downMs`, then up again on the same port and database. */
  async restart(downMs = 1_000): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }

  logTail(n = 2_000): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8').slice(-n);
    } catch {
      return '(no log)';
    }
  }
}
