// Issue 12: a persistent Temporal like a homelab runs it. The Temporal server (Temporal's own Go
// module, scripts/temporal-server.sh) on a PostgreSQL cluster of its own (Debian's postgresql-15),
// the schema set up with temporal-sql-tool and the namespace and search attributes with the `temporal`
// CLI by the same scripts docker-compose.yml runs, and the worker as its own process. A signed rejoin
// runs on it while the server process is SIGKILLed and started again twice: while a gate waits and
// while install.sh runs. The run completes, every destructive command ran once, and the run is found
// through the PostgreSQL visibility store by its search attributes. Both set-ups then run again, as
// docker-compose.yml runs them on every `up`, and succeed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { approveEveryGate } from '../helpers/approve-every-gate';
import { PostgresCluster } from '../helpers/postgres-cluster';
import { setUpNamespace, setUpSchema, temporalServerBinDir, TemporalServerProcess } from '../helpers/temporal-server-process';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { uniqueId, until, waitForStatus } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';

/** The pids whose command line (/proc/<pid>/cmdline) contains `secret`. */
function argvHolding(secret: string): string[] {
  const hits: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`).includes(secret)) hits.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return hits;
}

describe('PostgreSQL-backed Temporal server: a rejoin through two kills of the server process', () => {
  let db: PostgresCluster | undefined;
  let server: TemporalServerProcess | undefined;
  let lab: Lab | undefined;
  let worker: WorkerProcess | undefined;
  let connection: Connection | undefined;
  let logDir: string;
  let binDir: string;
  before(async () => {
    binDir = temporalServerBinDir(); // fails at once, naming scripts/temporal-server.sh, when not built
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'postgres-e2e-'));
    [db, lab] = await Promise.all([PostgresCluster.start(), Lab.start()]);
    setUpSchema(binDir, db);
    server = await TemporalServerProcess.start(binDir, db);
    setUpNamespace(server.address);
  });
  after(async () => {
    await worker?.kill();
    await connection?.close().catch(() => undefined);
    await server?.stop({ removeDir: true });
    await db?.stop();
    await lab?.stop();
    if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('the run completes with the lab in its end state; the worker process reconnects by itself', async () => {
    const taskQueue = uniqueId('postgres');
    worker = await startWorkerProcess({ inventoryPath: lab!.inventoryPath, taskQueue, temporalAddress: server!.address, logFile: path.join(logDir, 'worker.log') });
    await worker.ready;
    connection = await Connection.connect({ address: server!.address });
    const client = new Client({ connection });
    const t0 = Date.now();
    const h = await client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [{ node: NODE, readyTimeoutSeconds: 180 }] });
    const status = (pred: (s: RunbookStatus) => boolean, timeoutMs = 180_000) => waitForStatus(h, pred, timeoutMs, client);

    // 1. killed while the first gate waits; every gate is approved (signed) only after it is back
    const restarts: string[] = [];
    const killAndRestart = async (at: string) => {
      const t = Date.now();
      await server!.killAndRestart();
      restarts.push(`${at}: down ${Date.now() - t} ms`);
    };
    await status((s) => s.openGate?.step === 'remove-stale-node');
    await killAndRestart('gate remove-stale-node waiting');
    const stopApproving = approveEveryGate(lab!, h);

    // 2. killed while a change runs: install.sh held 15 s after it started
    lab!.hangOnce('install.sh', 15_000);
    await until(() => lab!.audit().some((e) => e.tool === 'install.sh'), 240_000, 200);
    await killAndRestart('install.sh running');
    // the database password reached the SQL tool, the server and initdb in the environment or 0600 files only
    assert.deepEqual(argvHolding(db!.password), [], 'the PostgreSQL password is in no process\'s argv');

    const result = (await h.result()) as RunbookResult;
    stopApproving();
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(server!.starts, 3, 'started once and after each of two kills');
    assert.ok(worker.alive(), 'the same worker process ran the whole time');

    const members = await lab!.etcdMembers();
    assert.equal(members.length, 4, JSON.stringify(members));
    assert.ok(members.every((m) => !m.isLearner), JSON.stringify(members));
    assert.equal((await lab!.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    const changes = lab!.audit().filter((e) => e.change);
    const count = (pred: (argv: string[], tool: string) => boolean) => changes.filter((e) => pred(e.argv, e.tool)).length;
    const audit = JSON.stringify(changes.map((e) => [e.tool, ...e.argv]));
    assert.equal(count((a, t) => t === 'kubectl' && a.includes('delete')), 1, audit);
    assert.equal(count((a, t) => t === 'etcdctl' && a.includes('remove')), 1, audit);
    assert.equal(count((_a, t) => t === 'k3s-uninstall.sh'), 1, audit);
    assert.equal(count((_a, t) => t === 'install.sh'), 1, audit);

    // the run is in PostgreSQL's visibility store under the registered search attributes
    const query = `RunbookTarget = "${NODE}" AND WorkflowId = "${h.workflowId}"`;
    let found: string[] = [];
    await until(async () => {
      found = [];
      for await (const w of client.workflow.list({ query })) found.push(`${w.workflowId}:${w.status.name}`);
      return found.some((f) => f.endsWith(':COMPLETED'));
    }, 30_000, 500).catch(() => undefined);
    assert.deepEqual(found, [`${h.workflowId}:COMPLETED`], query);
    // docker-compose.yml runs both set-ups on every `up`: again on a database in use, they change nothing and succeed
    setUpSchema(binDir, db!);
    setUpNamespace(server!.address);
    console.log(`server kills survived: ${restarts.join('; ')}; run ${Date.now() - t0} ms`);
  });
});
