// A PostgreSQL cluster of a test's own, from Debian's postgresql-15: initdb into a fresh directory as
// the `postgres` user (initdb and postgres refuse to run as root), listening on 127.0.0.1 and a free
// port only (its Unix socket in that directory, not /run/postgresql), one superuser with a random
// password checked by scram-sha-256. stop() shuts it down and removes the directory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trackChild } from './children';
import { POSTGRES_MAJOR } from './postgres-topology';
import { freePort } from './temporal';

export const POSTGRES_BIN = `/usr/lib/postgresql/${POSTGRES_MAJOR}/bin`;

interface RunAs {
  uid?: number;
  gid?: number;
}

/** Root runs the cluster as `postgres`; anyone else as themselves. */
function runAs(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export class PostgresCluster {
  readonly host = '127.0.0.1';
  readonly user = 'temporal';
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** The superuser's password: hand it on in environment variables or 0600 files, never argv. */
    readonly password: string,
    private readonly as: RunAs,
  ) {}

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  static async start(): Promise<PostgresCluster> {
    if (!fs.existsSync(path.join(POSTGRES_BIN, 'initdb'))) {
      throw new Error(`PostgreSQL ${POSTGRES_MAJOR} is not installed (${POSTGRES_BIN}/initdb): apt-get install postgresql-${POSTGRES_MAJOR}`);
    }
    const as = runAs();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-pg-'));
    if (as.uid !== undefined) fs.chownSync(dir, as.uid, as.gid!);
    const db = new PostgresCluster(dir, await freePort(), crypto.randomBytes(18).toString('hex'), as);
    try {
      db.initdb();
      await db.up();
    } catch (err) {
      await db.stop();
      throw err;
    }
    return db;
  }

  private initdb(): void {
    const pwfile = path.join(this.dir, 'pwfile');
    fs.writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (this.as.uid !== undefined) fs.chownSync(pwfile, this.as.uid, this.as.gid!);
    try {
      execFileSync(
        path.join(POSTGRES_BIN, 'initdb'),
        ['-D', this.dataDir, '-U', this.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
        { ...this.as, cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  /** Starts the postmaster and resolves once it accepts connections on 127.0.0.1:port. */
  async up(timeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const log = fs.openSync(path.join(this.dir, 'postgres.log'), 'a');
    const child = spawn(
      path.join(POSTGRES_BIN, 'postgres'),
      ['-D', this.dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', `port=${this.port}`, '-c', `unix_socket_directories=${this.dir}`],
      { ...this.as, cwd: this.dir, stdio: ['ignore', log, log] },
    );
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
      if (!this.child) throw new Error(`postgres exited at start; log: ${this.logTail()}`);
      try {
        execFileSync(path.join(POSTGRES_BIN, 'pg_isready'), ['-q', '-h', this.host, '-p', String(this.port)], { stdio: 'ignore' });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections in ${timeoutMs} ms; log: ${this.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Fast shutdown (SIGINT: active sessions are ended), SIGKILL after 10 s; then the directory goes. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(n = 2_000): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'postgres.log'), 'utf8').slice(-n);
    } catch {
      return '(no log)';
    }
  }
}
