// Issue 5, item 1 (the CI sample): kill points drawn from every runbook's step list (step × {during its
// activity, right after it completed}); for each, a run on a fresh lab whose worker process is
// SIGKILLed there and replaced must end as the uninterrupted baseline run did, with no destructive
// command in the audit log more often than in the baseline. The sample rotates daily (CRASH_SAMPLE_SEED
// to pin it): CRASH_SAMPLE points of the rejoin (default 3) and CRASH_SAMPLE_OTHERS of every other
// runbook (default 1, a change step's "during" first); `npm run test:crash-full` runs every point.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DevServerProcess } from '../helpers/dev-server-process';
import {
  RUNBOOKS, compareToBaseline, crashPoints, planMatrix, pool, runWithKill, samplePoints, tmpLogDir,
} from '../helpers/crash-points';

const SIZE = Number(process.env.CRASH_SAMPLE ?? 3);
const SIZE_OTHERS = Number(process.env.CRASH_SAMPLE_OTHERS ?? 1);
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

  it(`a sample of kill points (seed ${SEED}: ${SIZE} of the rejoin, ${SIZE_OTHERS} of each other runbook) ends as the uninterrupted run, no destructive command twice`, async () => {
    const client = new Client({ connection: connection! });
    const ctx = { client, temporalAddress: server!.address, logDir, slowMs: 800, log: (l: string) => console.log(l) };
    // Each runbook's sample stays in its first scenario (the rejoin: the seed's stale node; the full matrix adds VT-d off).
    const chosen = RUNBOOKS.map((rb, i) => ({ rb, scenario: rb.scenarios[0]!, size: i === 0 ? SIZE : SIZE_OTHERS })).filter((x) => x.size > 0);
    const bases = await pool(chosen, 2, ({ rb, scenario }) => runWithKill(ctx, rb, scenario));
    for (const base of bases) assert.equal(base.endState?.outcome, 'completed', JSON.stringify(base));
    const runs = chosen.flatMap(({ rb, scenario, size }, i) => {
      const key = `${rb.name}/${scenario.name}`;
      const runnable = planMatrix(crashPoints([rb]), new Map([[key, bases[i]!]])).runs.map((r) => r.point);
      return samplePoints(runnable, size, SEED).map((point) => ({ rb, scenario, point, base: bases[i]! }));
    });
    const results = await pool(runs, 2, ({ rb, scenario, point }) => runWithKill(ctx, rb, scenario, point));
    const report = results.map((r, i) => ({ r, v: compareToBaseline(r, runs[i]!.base) }));
    for (const { r, v } of report) {
      console.log(`${v.ok ? 'ok  ' : 'FAIL'} ${r.point} killed in ${r.killedActivity} (${r.confirmed ? 'confirmed' : 'unconfirmed'}), run ${r.totalMs} ms`);
    }
    const duplicates = report.flatMap(({ v }) => v.duplicates);
    assert.deepEqual(duplicates, [], 'no destructive command ran more often than in the uninterrupted run');
    assert.deepEqual(report.filter(({ v }) => !v.ok).map(({ r, v }) => `${r.point}: ${v.problems.join('; ')}`), []);
  });
});
