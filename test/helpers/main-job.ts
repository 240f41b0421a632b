// The real main job (scripts/main.ts: dev server, lab, worker) as a user runs it with `npm start`: its
// own process group (a Ctrl-C or a kill reaches all of it), a data directory and ports of its own.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..');

export interface MainJobOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  /** Extra arguments of scripts/main.ts, e.g. ['--fresh-lab']. */
  args?: string[];
}

export class MainJob {
  private exited: Promise<number | null>;
  private alive = true;

  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    private readonly logStart: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.alive = false;
        resolve(code ?? (signal ? -1 : null));
      }),
    );
    // never outlive the test process, even after a failed assertion
    process.once('exit', () => this.alive && this.signalGroup('SIGKILL'));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** This start's output so far. */
  output(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(this.logStart);
    } catch {
      return '';
    }
  }

  /** Starts scripts/main.ts as `npm start` does and resolves once its worker polls. */
  static async start(o: MainJobOptions, timeoutMs = 180_000): Promise<MainJob> {
    const logFile = path.join(o.dataDir, 'main-job.log');
    fs.mkdirSync(o.dataDir, { recursive: true });
    const logStart = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const fd = fs.openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RUNBOOK_DATA_DIR: o.dataDir,
      RUNBOOK_TEMPORAL_PORT: String(o.port),
      RUNBOOK_TEMPORAL_UI_PORT: String(o.uiPort),
    };
    for (const k of ['RUNBOOK_INVENTORY', 'RUNBOOK_TASK_QUEUE', 'TEMPORAL_ADDRESS']) delete env[k];
    // as `npm start` runs it: compiled (build/js, rebuilt here when a source or a workflow changed)
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--workflows', '--quiet'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
    const child = spawn(process.execPath, ['build/js/scripts/main.js', ...(o.args ?? [])], { cwd: REPO, env, detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const job = new MainJob(child, logFile, logStart);
    const deadline = Date.now() + timeoutMs;
    while (!/worker polling/.test(job.output())) {
      if (!job.alive || Date.now() > deadline) {
        job.signalGroup('SIGKILL');
        throw new Error(`the main job did not reach "worker polling":\n${job.output().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return job;
  }

  private signalGroup(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      /* gone */
    }
  }

  /** `signal` to the whole process group (Ctrl-C is SIGINT to the foreground group); waits for the exit. */
  async kill(signal: NodeJS.Signals, timeoutMs = 90_000): Promise<number | null> {
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    // the group's other members (the dev server) may outlive the leader for a moment
    for (let i = 0; i < 100 && groupAlive(this.pid); i++) await new Promise((r) => setTimeout(r, 100));
    return code;
  }
}

/** Any process still in process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
