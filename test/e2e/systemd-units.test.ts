// The systemd units (deploy/systemd) run the runbooks: each unit's own ExecStart and Environment, with
// only the install paths, ports and the state directory pointed at this test's (a box here has no
// systemd as PID 1), serve a dev server with the search attributes and a worker that runs a dry rejoin
// against the lab. `systemd-analyze verify` checks the files as systemd reads them.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import { resolveTemporalCli } from '../../src/shared/temporal-cli';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { trackChild } from '../helpers/children';
import { freePort, uniqueId, until } from '../helpers/temporal';

const ROOT = path.resolve(__dirname, '..', '..');
const UNITS = path.join(ROOT, 'deploy', 'systemd');

interface Unit {
  execStart: string[];
  /** ExecStartPre's words, its "+" (full privileges) prefix taken off. */
  execStartPre?: string[];
  environment: Record<string, string>;
  workingDirectory?: string;
}

/** The [Service] keys we run: ExecStart split into words (no quoting in our units), Environment=K=V lines. */
function readUnit(name: string): Unit {
  const text = fs.readFileSync(path.join(UNITS, name), 'utf8');
  const service = text.split(/^\[/m).find((s) => s.startsWith('Service]'))!;
  const values = (key: string) => [...service.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  const environment = Object.fromEntries(values('Environment').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const pre = values('ExecStartPre')[0]?.replace(/^[+\-@!:]+/, '');
  return { execStart: values('ExecStart')[0]!.split(/\s+/), execStartPre: pre?.split(/\s+/), environment, workingDirectory: values('WorkingDirectory')[0] };
}

function replaceWord(words: string[], from: string, to: string): string[] {
  assert.ok(words.some((w) => w.includes(from)), `the unit has ${from}: ${words.join(' ')}`);
  return words.map((w) => w.replaceAll(from, to));
}

function startProcess(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; log: string }): ChildProcess {
  const fd = fs.openSync(opts.log, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], env: opts.env, cwd: opts.cwd });
  fs.closeSync(fd);
  trackChild(child);
  return child;
}

describe('systemd units (deploy/systemd)', { timeout: 600_000 }, () => {
  let tmp: string;
  let lab: Lab;
  const children: ChildProcess[] = [];
  let address: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'units-'));
    lab = await Lab.start({ identity: 'names' });
  });
  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await lab?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('systemd-analyze verify accepts both units (with the CLI where the dev server unit expects it)', () => {
    const cli = resolveTemporalCli();
    assert.ok(cli, 'a Temporal CLI (scripts/temporal-cli.sh)');
    const dir = path.join(tmp, 'verify');
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(UNITS).filter((n) => n.endsWith('.service'))) {
      fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(UNITS, f), 'utf8').replaceAll('/usr/local/bin/temporal', cli));
    }
    const r = spawnSync('systemd-analyze', ['verify', ...fs.readdirSync(dir).map((f) => path.join(dir, f))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  });

  it("the dev server unit's ExecStart serves Temporal on loopback with the runbooks' search attributes", async () => {
    const unit = readUnit('temporal-dev-server.service');
    const port = await freePort();
    let argv = replaceWord(unit.execStart, '/usr/local/bin/temporal', resolveTemporalCli()!);
    argv = replaceWord(argv, '%S', tmp);
    argv = argv.map((w, i) => (argv[i - 1] === '--port' ? String(port) : argv[i - 1] === '--ui-port' ? String(port + 1000) : w));
    assert.equal(argv[argv.indexOf('--ip') + 1], '127.0.0.1', 'loopback only');
    fs.mkdirSync(path.join(tmp, 'temporal'));
    children.push(startProcess(argv, { log: path.join(tmp, 'server.log') }));
    address = `127.0.0.1:${port}`;
    let connection: Connection | undefined;
    await until(async () => {
      try {
        connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        return true;
      } catch {
        return false;
      }
    }, 60_000, 500);
    const attrs = await connection!.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const name of ['RunbookName', 'RunbookTarget', 'RunbookWaitingOn']) assert.ok(attrs.customAttributes[name] !== undefined, `${name} registered`);
    assert.ok(fs.existsSync(path.join(tmp, 'temporal', 'temporal.db')), 'its state is the SQLite file under the state directory');
    await connection!.close();
  });

  it("the worker unit's ExecStart and Environment run a dry rejoin against the lab", async () => {
    const unit = readUnit('homelab-runbooks-worker.service');
    assert.equal(unit.environment.RUNBOOK_INVENTORY, '/etc/homelab-runbooks/inventory.yaml');
    assert.equal(unit.workingDirectory, '/opt/homelab-runbooks');
    const taskQueue = uniqueId('units');
    const env = { PATH: process.env.PATH, ...unit.environment, RUNBOOK_INVENTORY: lab.inventoryPath, TEMPORAL_ADDRESS: address, RUNBOOK_TASK_QUEUE: taskQueue };
    const log = path.join(tmp, 'worker.log');
    // as systemd does: ExecStartPre (the build, when stale) to its end, then ExecStart
    assert.ok(unit.execStartPre, 'the worker unit builds before it starts');
    execFileSync(unit.execStartPre[0]!, unit.execStartPre.slice(1), { env, cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(startProcess(unit.execStart, { env, cwd: ROOT, log }));
    await until(() => fs.readFileSync(log, 'utf8').includes(`worker: task queue ${taskQueue}`), 60_000, 200);
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const result = (await client.workflow.execute('k3sRejoin', {
      taskQueue,
      workflowId: uniqueId('units-rejoin'),
      args: [{ node: 'k3s-vm-still-fawn', dryRun: true }],
    })) as RunbookResult;
    assert.equal(result.outcome, 'dry-run', result.summary);
    assert.deepEqual(result.plan?.map((p) => p.step), ['remove-stale-node', 'uninstall-k3s', 'install-k3s']);
    await connection.close();
  });
});
