// The real worker (src/worker.ts, compiled as `npm run worker` runs it) as a child process, so a test can SIGKILL it for real.
// Configured the way an operator configures it: RUNBOOK_INVENTORY, RUNBOOK_TASK_QUEUE, TEMPORAL_ADDRESS.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowBundle } from './temporal';
import { trackChild } from './children';

const ROOT = path.join(__dirname, '..', '..');

let bundleFile: Promise<string> | undefined;
/** The workflow bundle written once to a file, handed to every worker as RUNBOOK_WORKFLOW_BUNDLE (start-up ~3 s, not ~5.5 s). */
export function workflowBundleFile(): Promise<string> {
  bundleFile ??= workflowBundle().then(({ code }) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bundle-')), 'workflow-bundle.js');
    fs.writeFileSync(file, code);
    process.once('exit', () => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    return file;
  });
  return bundleFile;
}

export interface WorkerProcessOptions {
  inventoryPath: string;
  taskQueue: string;
  temporalAddress: string;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export interface WorkerProcess {
  pid: number;
  /** Resolves when the worker printed its start line (it polls from then on). */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

export async function startWorkerProcess(opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const log = fs.openSync(opts.logFile, 'a');
  fs.writeSync(log, `--- worker start ${new Date().toISOString()}\n`);
  // as `npm run worker` runs it: compiled (scripts/build.mjs, rebuilt here when a source changed)
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const child = spawn(process.execPath, ['build/js/src/worker.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      RUNBOOK_INVENTORY: opts.inventoryPath,
      RUNBOOK_TASK_QUEUE: opts.taskQueue,
      RUNBOOK_WORKFLOW_BUNDLE: await workflowBundleFile(),
      TEMPORAL_ADDRESS: opts.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_CONFIG_FILE: '/nonexistent',
    },
    stdio: ['ignore', 'pipe', log],
  });
  fs.closeSync(log);
  trackChild(child);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      fs.appendFileSync(opts.logFile, d);
      if (!seen.includes('worker: task queue')) {
        seen += d.toString('utf8');
        if (seen.includes('worker: task queue')) resolve();
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`worker exited before it was ready (${code ?? signal}); log ${opts.logFile}`)));
  });
  ready.catch(() => undefined);
  return {
    pid: child.pid!,
    ready,
    exited,
    alive: () => running,
    async kill() {
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}
