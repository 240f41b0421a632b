// One server process a test starts, stops and starts again (the dev server, temporal-server, PostgreSQL):
// spawned with its output appended to a log file, tracked so it never outlives the test run, and up
// once its own readiness probe answers.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import { trackChild } from './children';

export interface StartOptions {
  /** Resolves once the server answers; throws while it does not yet. */
  ready: () => Promise<void>;
  timeoutMs: number;
  everyMs: number;
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** How many times start() brought the server up. */
  starts = 0;

  /** `name` is how errors call it ("the dev server"); `logFile` collects its stdout and stderr. */
  constructor(
    readonly name: string,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawns `cmd args` (no-op while it runs) and waits for `ready`; an exit or the deadline is an error with the log's tail. */
  async start(cmd: string, args: string[], spawnOptions: SpawnOptions, opts: StartOptions): Promise<void> {
    if (this.child) return;
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(cmd, args, { ...spawnOptions, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    trackChild(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      if (!this.child) throw new Error(`${this.name} exited at start; log: ${this.logTail()}`);
      try {
        await opts.ready();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${this.name} did not answer in ${opts.timeoutMs} ms: ${String(err)}; log: ${this.logTail()}`);
        await new Promise((r) => setTimeout(r, opts.everyMs));
      }
    }
    this.starts += 1;
  }

  /** Sends `signal`, then SIGKILL after `killAfterMs`, and waits for the exit (no-op when not running). */
  async stop(signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = this.exited!;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  }

  logTail(n = 2_000): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-n);
    } catch {
      return '(no log)';
    }
  }
}
