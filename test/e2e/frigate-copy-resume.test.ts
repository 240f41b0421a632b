// Issue 14: Phase 3's recordings stream in batches, each file put in place only once its sha256 is the
// same in the CT and on the node. Here the worker is SIGKILLed in the middle of the copy (some batches
// verified, others not yet sent); the next worker's attempt must finish the copy without sending a
// verified file again, and the run must end as an uninterrupted one does.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { Lab } from '../../lab/src';
import { argvRecord } from '../../lab/src/argv-record';
import { DevServerProcess } from '../helpers/dev-server-process';
import { tmpLogDir } from '../helpers/crash-points';
import { until, uniqueId } from '../helpers/temporal';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { approveEveryGate } from '../helpers/approve-every-gate';
import { heartbeats } from '../../src/cli/heartbeats';
import type { RunbookResult } from '../../src/workflows/runbook/types';

const BIG = 6; // recordings of 700 KiB: with copy.batchMiB 1, one batch each

describe('frigate migration: a worker lost in the middle of the streamed copy', () => {
  let server: DevServerProcess | undefined;
  let connection: Connection | undefined;
  let lab: Lab | undefined;
  let logDir: string;
  const workers: WorkerProcess[] = [];
  before(async () => {
    server = await DevServerProcess.start();
    connection = await Connection.connect({ address: server.address });
    lab = await Lab.start({ staleNode: false });
    logDir = tmpLogDir('copy-resume-');
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await lab?.stop();
    await connection?.close().catch(() => undefined);
    await server?.stop({ removeDir: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('the next attempt sends only what was not verified: every verified file went once and was never replaced', async () => {
    const inv = parse(fs.readFileSync(lab!.inventoryPath, 'utf8')) as { frigate: { copy: Record<string, unknown> } };
    inv.frigate.copy.batchMiB = 1;
    fs.writeFileSync(lab!.inventoryPath, stringify(inv));
    const now = Date.now();
    const big = Array.from({ length: BIG }, (_, i) => lab!.frigate.recordInCt('driveway', { at: new Date(now - (i + 1) * 60_000), bytes: 700 * 1024 }));

    const client = new Client({ connection: connection! });
    const taskQueue = uniqueId('copy-resume');
    const startWorker = async () => {
      const w = await startWorkerProcess({ inventoryPath: lab!.inventoryPath, taskQueue, temporalAddress: server!.address, logFile: path.join(logDir, 'worker.log') });
      workers.push(w);
      await w.ready;
      return w;
    };
    const first = await startWorker();
    const h = await client.workflow.start('frigateMigration', { taskQueue, workflowId: uniqueId('frigate'), args: [{}] });
    approveEveryGate(lab!, h);

    const verified = (): string[] => {
      try {
        return lab!.frigate.k3sFile('media/.frigate-copy/verified').split('\n').filter(Boolean).map((l) => l.slice(66));
      } catch {
        return [];
      }
    };
    const sends = () => argvRecord(lab!.dir).filter((e) => e.tool === 'ssh-session' && e.host === 'fun-bedbug' && e.argv[2]!.includes('tar -cf -'));
    // the copy starts: from now on every session on the CT's host starts 1.5 s late, so the batches take a while
    await until(() => sends().length > 0, 300_000, 100);
    lab!.delaySessions(1_500);
    await until(() => verified().some((p) => big.some((b) => b.path.endsWith(p))), 120_000, 100);
    // `runbook status` shows the copy's progress from its heartbeat (src/cli/heartbeats.ts)
    const inFlight = await heartbeats(client, h);
    assert.ok(inFlight.some((p) => p.activity === 'copyFrigateData' && /^recordings: \d+ of \d+ verified/.test(p.details)), JSON.stringify(inFlight));
    await first.kill();
    const before = verified();
    const inodes = new Map(before.map((p) => [p, fs.statSync(nodeFile(lab!, p)).ino]));
    lab!.delaySessions(0);
    assert.ok(before.length < big.length + 80, `killed in the middle: ${before.length} files verified`);

    await startWorker();
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);
    const after = verified();
    assert.equal(new Set(after).size, after.length, 'each file verified once');
    for (const b of big) assert.ok(after.some((p) => b.path.endsWith(p)), `${b.path} copied and verified`);
    for (const p of before) {
      const times = sends().filter((e) => e.argv[2]!.includes(` ${p} `) || e.argv[2]!.includes(` ${p};`)).length;
      assert.equal(times, 1, `${p} verified before the crash was sent ${times} times`);
      assert.equal(fs.statSync(nodeFile(lab!, p)).ino, inodes.get(p), `${p} was not replaced`);
    }
    assert.ok(after.length > before.length, 'the second attempt sent the rest');
    const copy = result.steps.find((x) => x.id === 'copy-frigate-data')!;
    assert.match(copy.evidence.join('\n'), /streamed into k3s-vm-still-fawn, sha256 equal at both ends/);
  });
});

/** The node's copy of a recording (`recordings/...`), in the VM's disk. */
function nodeFile(lab: Lab, rel: string): string {
  const vm = lab.info.vms.find((v) => v.host === 'still-fawn')!;
  return path.join(lab.dir, 'hosts', vm.host, 'vms', String(vm.vmid), 'fs', 'var', 'lib', 'frigate', 'media', rel);
}
