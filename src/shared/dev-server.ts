// The local Temporal dev server for the main job: `temporal server start-dev` with the Web UI and a
// SQLite file under the data directory (a restart loses nothing). Falls back to the SDK's download
// when no CLI can be found or built (users with internet).
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../workflows/runbook/search-attributes';
import { resolveTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  dataDir: string;
  ip?: string;
  port?: number;
  uiPort?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const address = `${ip}:${port}`;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const dbFilename = path.resolve(opts.dataDir, 'temporal.db');
  if (await answers(address)) {
    // a dev server left by an earlier run (or started by hand): use it, do not stop it
    return { address, uiUrl: `http://${ip}:${uiPort}`, stop: async () => undefined };
  }
  const cli = resolveTemporalCli();
  if (!cli) {
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'cached-download' }, dbFilename, ip, port, uiPort, searchAttributes: RUNBOOK_SEARCH_ATTRIBUTES },
    });
    return { address, uiUrl: `http://${ip}:${uiPort}`, stop: () => env.teardown() };
  }
  const log = fs.openSync(path.join(opts.dataDir, 'server.log'), 'a');
  const args = ['server', 'start-dev', '--db-filename', dbFilename, '--ip', ip, '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn',
    // hand activities straight to the worker that scheduled them (docs/benchmarks.md §1)
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true'];
  for (const key of RUNBOOK_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', log, log] });
  let exited = false;
  child.once('exit', () => (exited = true));
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit); // never leave the server behind, even on a crash
  await waitForServer(address, () => exited, path.join(opts.dataDir, 'server.log'));
  return {
    address,
    uiUrl: `http://${ip}:${uiPort}`,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

async function answers(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 1_000 });
    await c.workflowService.getSystemInfo({});
    await c.close();
    return true;
  } catch {
    return false;
  }
}

async function waitForServer(address: string, exited: () => boolean, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited()) throw new Error(`temporal server start-dev exited; see ${logPath}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: 1_000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal dev server at ${address} did not come up: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
