// Issue 10 item 5: `qm guest exec --timeout` returns a pid and the guest agent keeps the command running
// (qemu-server src/PVE/CLI/qm.pm `exec`), and so does a lost activity attempt: the install goes on in the
// VM. Here the worker is SIGKILLed while install.sh runs (it hangs a while first); the retry must find
// that install and wait for it, never start a second install.sh beside it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import { DevServerProcess } from '../helpers/dev-server-process';
import { tmpLogDir } from '../helpers/crash-points';
import { until, uniqueId } from '../helpers/temporal';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { approveEveryGate } from '../helpers/approve-every-gate';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const NODE = 'k3s-vm-still-fawn';

describe('rejoin: a worker lost while install.sh runs', () => {
  let server: DevServerProcess | undefined;
  let connection: Connection | undefined;
  let lab: Lab | undefined;
  let logDir: string;
  const workers: WorkerProcess[] = [];
  before(async () => {
    server = await DevServerProcess.start();
    connection = await Connection.connect({ address: server.address });
    lab = await Lab.start();
    logDir = tmpLogDir('install-retry-');
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await lab?.stop();
    await connection?.close().catch(() => undefined);
    await server?.stop({ removeDir: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('the retry waits for the install still running in the VM: install.sh runs once and the node joins', async () => {
    const client = new Client({ connection: connection! });
    const taskQueue = uniqueId('install-retry');
    const startWorker = async () => {
      const w = await startWorkerProcess({ inventoryPath: lab!.inventoryPath, taskQueue, temporalAddress: server!.address, logFile: path.join(logDir, 'worker.log') });
      workers.push(w);
      await w.ready;
      return w;
    };
    const first = await startWorker();
    // longer than the change activities' heartbeat timeout (1 min): the retry comes while it still runs
    lab!.hangOnce('install.sh', 100_000);
    const h = await client.workflow.start('k3sRejoin', {
      taskQueue,
      workflowId: uniqueId('rejoin'),
      args: [{ node: NODE, readyTimeoutSeconds: 120 }],
    });
    approveEveryGate(lab!, h);
    const installs = () => lab!.audit().filter((e) => e.tool === 'install.sh');
    await until(() => installs().length > 0, 600_000, 500);
    await first.kill();
    await startWorker();
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(installs().length, 1, JSON.stringify(installs()));
    const members = await lab!.etcdMembers();
    assert.equal(members.filter((m) => m.name.startsWith(`${NODE}-`) && m.started && !m.isLearner).length, 1, JSON.stringify(members));
    assert.equal((await lab!.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    const install = result.steps.find((s) => s.id === 'install-k3s')!;
    assert.match(install.evidence.join('\n'), /already there \(running\)/, install.evidence.join('\n'));
  });
});
