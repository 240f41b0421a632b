// Issue 5, item 3: managed hosts that reboot, commands that hang, a host that stays down.
// Real dev server and a real worker process; the lab's faults hold a command at a known point
// (lab.hangOnce) so that a reboot lands inside the step that runs it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Lab } from '../../lab/src';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { DevServerProcess } from '../helpers/dev-server-process';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { send } from '../helpers/decide';
import { uniqueId, until } from '../helpers/temporal';
import { activityAttempts, localActivityOf } from '../helpers/activity-attempts';

const NODE = 'k3s-vm-still-fawn';

describe('durability: managed hosts reboot, hang and stay down', () => {
  let server: DevServerProcess | undefined;
  let connection: Connection | undefined;
  let client: Client;
  let logDir: string;
  const labs: Lab[] = [];
  const workers: WorkerProcess[] = [];
  before(async () => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durability-host-'));
    server = await DevServerProcess.start();
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
  });
  after(async () => {
    for (const w of workers) await w.kill();
    for (const l of labs) await l.stop();
    await connection?.close().catch(() => undefined);
    await server?.stop({ removeDir: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  async function setup(name: string): Promise<{ lab: Lab; taskQueue: string; worker: () => Promise<WorkerProcess> }> {
    const lab = await Lab.start();
    labs.push(lab);
    const taskQueue = uniqueId(name);
    const worker = async () => {
      const w = await startWorkerProcess({ inventoryPath: lab.inventoryPath, taskQueue, temporalAddress: server!.address, logFile: path.join(logDir, `${name}.log`) });
      workers.push(w);
      await w.ready;
      return w;
    };
    return { lab, taskQueue, worker };
  }

  /** The attempt that finished each activity of the run, by activity type (retries show as attempt > 1); local ones from their markers. */
  async function attempts(h: WorkflowHandle): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const a of await activityAttempts(h)) out[a.type] = Math.max(out[a.type] ?? 0, a.attempt || 1);
    return out;
  }

  it('a rejoin finishes through three reboots of managed hosts, each inside a step', async () => {
    const { lab, taskQueue, worker } = await setup('reboots');
    await worker();
    const t0 = Date.now();
    const h = await client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [{ node: NODE, readyTimeoutSeconds: 180 }] });
    const approver = approveAll(client, lab, h);
    const reboots: string[] = [];
    const rebootWhenHeld = async (tool: string, host: string, why: string) => {
      await until(() => !fs.existsSync(path.join(lab.dir, 'faults', `hang-${tool}`)), 180_000);
      const t = Date.now();
      await lab.reboot(host, { downMs: 4_000 });
      reboots.push(`${host} during ${why} (${Date.now() - t} ms down)`);
    };
    try {
      // 1. still-fawn while vm-running runs `qm status` on it
      lab.hangOnce('qm', 5_000, 'status');
      await rebootWhenHeld('qm', 'still-fawn', 'vm-running (qm status)');
      // 2. pumped-piglet (the healthy node the reads go through) while cluster-version runs kubectl on it
      lab.hangOnce('kubectl', 5_000, 'get nodes');
      await rebootWhenHeld('kubectl', 'pumped-piglet', 'cluster-version (kubectl get nodes)');
      // 3. still-fawn while uninstall-k3s runs the uninstall script
      lab.hangOnce('k3s-uninstall.sh', 10_000);
      await rebootWhenHeld('k3s-uninstall.sh', 'still-fawn', 'uninstall-k3s (k3s-uninstall.sh)');
      const result = (await h.result()) as RunbookResult;
      assert.equal(result.outcome, 'completed', result.summary);
    } finally {
      approver.stop();
    }
    const runMs = Date.now() - t0;
    const members = await lab.etcdMembers();
    assert.equal(members.length, 4, JSON.stringify(members));
    assert.ok(members.every((m) => !m.isLearner && m.name), JSON.stringify(members));
    assert.equal((await lab.kubeNodes()).find((n) => n.name === NODE)?.ready, 'True');
    const tries = await attempts(h);
    assert.ok(tries.checkVmRunning! > 1, `vm-running was retried: ${JSON.stringify(tries)}`);
    assert.ok(tries.readClusterVersion! > 1, `cluster-version was retried: ${JSON.stringify(tries)}`);
    assert.ok(tries.uninstallK3s! > 1, `uninstall-k3s was retried: ${JSON.stringify(tries)}`);
    const changes = lab.audit().filter((e) => e.change);
    const count = (tool: string, word?: string) => changes.filter((e) => e.tool === tool && (!word || e.argv.includes(word))).length;
    assert.equal(count('kubectl', 'delete'), 1);
    assert.equal(count('etcdctl', 'remove'), 1);
    assert.equal(count('install.sh'), 1);
    // the uninstall cut by the reboot (held right after it started, before it removed anything) runs again
    assert.equal(count('k3s-uninstall.sh'), 2);
    console.log(`host reboots survived: ${reboots.length}/${reboots.length}: ${reboots.join('; ')}; attempts ${JSON.stringify(tries)}; run ${runMs} ms`);
  });

  it('a hung command is cut and retried; a hung worker\'s workflow task times out and its check runs again on another worker', async () => {
    const { lab, taskQueue, worker } = await setup('hangs');
    const a = await worker();
    lab.hangOnce('etcdctl', 600_000, 'member list'); // cluster-health's first read never returns
    // cluster-version's read (the run's first `kubectl get nodes`) is held 30 s: the worker is stopped then.
    // The checks run as local activities, one after another inside a workflow task whose results reach the
    // history at its next heartbeat (every 8 s): the worker is stopped once cluster-health's is recorded.
    lab.hangOnce('kubectl', 30_000, 'get nodes');
    const t0 = Date.now();
    const h = await client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [{ node: NODE, dryRun: true }] });
    const recorded = async (type: string) => ((await h.fetchHistory()).events ?? []).some((e) => localActivityOf(e)?.type === type);
    await until(() => recorded('checkClusterHealth'), 240_000, 500);
    const hungCommandMs = Date.now() - t0;
    await until(() => !fs.existsSync(path.join(lab.dir, 'faults', 'hang-kubectl')), 60_000);
    // the worker itself hangs (SIGSTOP) in the middle of cluster-version; a second worker takes over
    process.kill(a.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    await worker();
    const result = (await h.result()) as RunbookResult;
    const hungWorkerMs = Date.now() - stoppedAt;
    await a.kill();
    assert.equal(result.outcome, 'dry-run', result.summary);
    // the hung read through pumped-piglet is cut by qm's --timeout (60 s) and the check reads through the next node
    const health = result.steps.find((x) => x.id === 'cluster-health')!;
    assert.match(health.evidence.join('\n'), /read through k3s-vm-fun-bedbug/, JSON.stringify(health));
    assert.ok(hungCommandMs >= 60_000, `the hung command was cut by its timeout, not earlier: ${hungCommandMs} ms`);
    // the stopped worker's check is lost with its workflow task and run again by the second worker:
    // the task timed out, and cluster-version's result was recorded after that
    const events = (await h.fetchHistory()).events ?? [];
    const timedOut = events.findIndex((e) => e.workflowTaskTimedOutEventAttributes);
    const version = events.findIndex((e) => localActivityOf(e)?.type === 'readClusterVersion' || e.activityTaskScheduledEventAttributes?.activityType?.name === 'readClusterVersion');
    assert.ok(timedOut >= 0, 'the stopped worker\'s workflow task timed out');
    assert.ok(version > timedOut, `cluster-version was recorded after the lost task (event ${version} > ${timedOut})`);
    console.log(`hung command: cluster-health done ${hungCommandMs} ms after start; hung worker: run ended ${hungWorkerMs} ms after SIGSTOP`);
  });

  it('a host that stays down fails the step after a bounded time, naming the host', async () => {
    const { lab, taskQueue, worker } = await setup('down');
    await worker();
    await lab.powerOff('still-fawn');
    const t0 = Date.now();
    const h = await client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [{ node: NODE, dryRun: true }] });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = Date.now() - t0;
    assert.ok(err instanceof Error, 'the run failed');
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) chain.push(e.message);
    const text = chain.join(' ← ');
    assert.match(text, /step "iommu" failed/, text);
    assert.match(text, /still-fawn/, text);
    assert.ok(ms < 180_000, `failed after ${ms} ms`);
    const st = await h.query(statusQuery).catch(() => undefined);
    if (st) assert.equal(st.steps.find((x) => x.id === 'iommu')?.state, 'failed');
    console.log(`host down: the run failed after ${ms} ms: ${chain[chain.length - 1]}`);
    await lab.powerOn('still-fawn');
  });
});

/** Approves every gate that opens, as alice, until stopped. */
function approveAll(client: Client, lab: Lab, h: WorkflowHandle): { stop(): void } {
  let stopped = false;
  const seen = new Set<string>();
  void (async () => {
    while (!stopped) {
      try {
        const s = await client.withDeadline(Date.now() + 3_000, () => h.query(statusQuery));
        const g = s.openGate;
        if (g?.kind === 'approval' && !seen.has(`${g.step}@${g.since}`)) {
          // signed with alice's lab key; marked seen only once sent (a reboot may drop the call)
          await client.withDeadline(Date.now() + 10_000, () => send(lab, h, 'approve', { step: g.step, by: 'alice', digest: g.digest }));
          seen.add(`${g.step}@${g.since}`);
        }
        if (s.state !== 'running' && s.state !== 'waiting') return;
      } catch {
        /* not yet / worker busy */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { stop: () => (stopped = true) };
}


