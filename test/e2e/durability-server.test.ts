// Issue 5, item 2: the Temporal server stops and starts again (same port, same --db-filename) at four
// points of a real rejoin: during a check, while a gate waits, while a long command runs (the install,
// held 15 s by a lab fault), and during the wait for Ready. The worker is a separate process that is
// never restarted: it reconnects by itself, and the run finishes with every destructive command once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { DevServerProcess } from '../helpers/dev-server-process';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { send } from '../helpers/decide';
import { uniqueId, until, waitForStatus } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';

describe('durability: Temporal server restarts during a rejoin', () => {
  let server: DevServerProcess | undefined;
  let lab: Lab | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  let logDir: string;
  before(async () => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durability-server-'));
    [server, lab] = await Promise.all([DevServerProcess.start(), Lab.start()]);
  });
  after(async () => {
    await worker?.kill();
    await connection?.close().catch(() => undefined);
    await lab?.stop();
    await server?.stop({ removeDir: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('the run finishes through four server restarts; the worker process reconnects by itself', async () => {
    const taskQueue = uniqueId('server-restart');
    worker = await startWorkerProcess({ inventoryPath: lab!.inventoryPath, taskQueue, temporalAddress: server!.address, logFile: path.join(logDir, 'worker.log') });
    await worker.ready;
    connection = await Connection.connect({ address: server!.address });
    const client = new Client({ connection });
    const t0 = Date.now();
    const h = await client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [{ node: NODE, readyTimeoutSeconds: 180 }] });
    const restarts: { at: string; downMs: number }[] = [];
    const restart = async (at: string) => {
      const t = Date.now();
      await server!.restart(1_000);
      restarts.push({ at, downMs: Date.now() - t });
    };
    const status = (pred: (s: RunbookStatus) => boolean, timeoutMs = 180_000) => waitForStatus(h, pred, timeoutMs, client);

    // 1. during a check: cluster-health's first etcd read (the run's first etcdctl) held 10 s. The check is
    // a local activity inside a workflow task, so the status cannot show it running: the held command can
    lab!.hangOnce('etcdctl', 10_000, 'member list');
    await until(() => !fs.existsSync(path.join(lab!.dir, 'faults', 'hang-etcdctl')), 120_000);
    await restart('check cluster-health running');

    // 2. while the first gate waits; approve after the restart
    const gate = await status((s) => s.openGate?.step === 'remove-stale-node');
    await restart('gate remove-stale-node waiting');
    await send(lab!, h, 'approve', { step: 'remove-stale-node', by: 'alice', digest: gate.openGate!.digest });
    const g2 = await status((s) => s.openGate?.step === 'uninstall-k3s');
    await send(lab!, h, 'approve', { step: 'uninstall-k3s', by: 'bob', digest: g2.openGate!.digest });

    // 3. while a long command runs: install.sh held 15 s after it started
    lab!.hangOnce('install.sh', 15_000);
    const g3 = await status((s) => s.openGate?.step === 'install-k3s');
    await send(lab!, h, 'approve', { step: 'install-k3s', by: 'carol', digest: g3.openGate!.digest });
    await until(() => lab!.audit().some((e) => e.tool === 'install.sh'), 120_000);
    await restart('command install.sh running');

    // 4. while the wait for Ready runs
    await status((s) => s.steps.find((x) => x.id === 'wait-ready')?.state === 'running' || s.state === 'completed');
    const waiting = (await status(() => true)).steps.find((x) => x.id === 'wait-ready')?.state === 'running';
    await restart(waiting ? 'wait-ready running' : 'after the run (wait-ready was too quick)');

    const result = (await h.result()) as RunbookResult;
    const runMs = Date.now() - t0;
    assert.equal(result.outcome, 'completed', result.summary);
    assert.ok(worker.alive(), 'the same worker process ran the whole time');
    assert.equal(server!.starts, 5, JSON.stringify(restarts));

    const members = await lab!.etcdMembers();
    assert.equal(members.length, 4, JSON.stringify(members));
    assert.ok(members.every((m) => !m.isLearner));
    assert.equal((await lab!.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    const changes = lab!.audit().filter((e) => e.change);
    const count = (pred: (argv: string[], tool: string) => boolean) => changes.filter((e) => pred(e.argv, e.tool)).length;
    const audit = JSON.stringify(changes.map((e) => [e.tool, ...e.argv]));
    assert.equal(count((a, t) => t === 'kubectl' && a.includes('delete')), 1, audit);
    assert.equal(count((a, t) => t === 'etcdctl' && a.includes('remove')), 1, audit);
    assert.equal(count((_a, t) => t === 'k3s-uninstall.sh'), 1, audit);
    assert.equal(count((_a, t) => t === 'install.sh'), 1, audit);
    console.log(`server restarts survived: ${restarts.length}/${restarts.length} (${restarts.map((r) => `${r.at}: down ${r.downMs} ms`).join('; ')}); run ${runMs} ms`);
  });
});


