// Issue 5, item 1 (the CI sample): kill points drawn from every runbook's step list (step × {during its
// activity, right after it completed}); for each, a rejoin on a fresh lab whose worker process is
// SIGKILLed there and replaced must end as the uninterrupted baseline run did, with no destructive
// command in the audit log more often than in the baseline. The sample rotates daily (CRASH_SAMPLE_SEED
// to pin it, CRASH_SAMPLE for its size, default 3); `npm run test:crash-full` runs every point.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DevServerProcess } from '../helpers/dev-server-process';
import {
  RUNBOOKS, compareToBaseline, crashPoints, planMatrix, pool, runWithKill, samplePoints, tmpLogDir, type RunRecord,
} from '../helpers/crash-points';

const SIZE = Number(process.env.CRASH_SAMPLE ?? 3);
const SEED = Number(process.env.CRASH_SAMPLE_SEED ?? Math.floor(Date.now() / 86_400_000));

describe('durability: worker SIGKILL at sampled kill points', () => {
  let server: DevServerProcess | undefined;
  let connection: Connection | undefined;
  let logDir: string;
  before(async () => {
    server = await DevServerProcess.start();
    connection = await Connection.connect({ address: server.address });
    logDir = tmpLogDir('crash-sample-');
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await server?.stop({ removeDir: true });
    if (process.env.KEEP_CRASH_LOGS !== '1') fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('every step of every runbook has two kill points', () => {
    const points = crashPoints();
    for (const rb of RUNBOOKS) {
      for (const s of rb.steps) {
        assert.deepEqual(points.filter((p) => p.runbook === rb.name && p.step === s.id).map((p) => p.when), ['during', 'after']);
      }
    }
  });

  it(`a sample of ${SIZE} kill points (seed ${SEED}) ends as the uninterrupted run, no destructive command twice`, async () => {
    const client = new Client({ connection: connection! });
    const ctx = { client, temporalAddress: server!.address, logDir, slowMs: 800, log: (l: string) => console.log(l) };
    const rb = RUNBOOKS[0]!;
    const scenario = rb.scenarios[0]!;
    // The sample stays in the first scenario (the seed's stale node); the full matrix adds VT-d off.
    const base: RunRecord = await runWithKill(ctx, rb, scenario);
    assert.equal(base.endState?.outcome, 'completed', JSON.stringify(base));
    const runnable = planMatrix(crashPoints([rb]), new Map([[`${rb.name}/${scenario.name}`, base]])).runs.map((r) => r.point);
    const sample = samplePoints(runnable, SIZE, SEED);
    const results = await pool(sample, 2, (point) => runWithKill(ctx, rb, scenario, point));
    const report = results.map((r) => ({ r, v: compareToBaseline(r, base) }));
    for (const { r, v } of report) {
      console.log(`${v.ok ? 'ok  ' : 'FAIL'} ${r.point} killed in ${r.killedActivity} (${r.confirmed ? 'confirmed' : 'unconfirmed'}), run ${r.totalMs} ms`);
    }
    const duplicates = report.flatMap(({ v }) => v.duplicates);
    assert.deepEqual(duplicates, [], 'no destructive command ran more often than in the uninterrupted run');
    assert.deepEqual(report.filter(({ v }) => !v.ok).map(({ r, v }) => `${r.point}: ${v.problems.join('; ')}`), []);
  });
});
