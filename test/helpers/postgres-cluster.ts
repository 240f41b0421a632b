// A PostgreSQL cluster of a test's own, from Debian's postgresql-15: initdb into a fresh directory as
// the `postgres` user (initdb and postgres refuse to run as root), listening on 127.0.0.1 and a free
// port only (its Unix socket in that directory, not /run/postgresql), one superuser with a random
// password checked by scram-sha-256. stop() shuts it down and removes the directory.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServerProcess } from './server-process';
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
  private readonly proc: ServerProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
    /** The superuser's password: hand it on in environment variables or 0600 files, never argv. */
    readonly password: string,
    private readonly as: RunAs,
  ) {
    this.proc = new ServerProcess('postgres', path.join(dir, 'postgres.log'));
  }

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
    const args = ['-D', this.dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', `port=${this.port}`, '-c', `unix_socket_directories=${this.dir}`];
    const ready = async () => {
      execFileSync(path.join(POSTGRES_BIN, 'pg_isready'), ['-q', '-h', this.host, '-p', String(this.port)], { stdio: 'ignore' });
    };
    await this.proc.start(path.join(POSTGRES_BIN, 'postgres'), args, { ...this.as, cwd: this.dir }, { ready, timeoutMs, everyMs: 200 });
  }

  /** Fast shutdown (SIGINT: active sessions are ended), SIGKILL after 10 s; then the directory goes. */
  async stop(): Promise<void> {
    await this.proc.stop('SIGINT', 10_000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(n = 2_000): string {
    return this.proc.logTail(n);
  }
}
