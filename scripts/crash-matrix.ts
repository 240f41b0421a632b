// The full worker crash matrix (issue 5, item 1): `npm run test:crash-full`.
// One dev server; per scenario an uninterrupted baseline run; then for every step of every runbook
// × {during, after} a run on a fresh lab whose worker process is SIGKILLed there and replaced.
// Options: --only <substring of a point id>[,<another>…] (e.g. `pbs-migration/`, `lxc-retirement/backup/`),
// --sample N [--seed S], --concurrency N (default 2),
// --out <dir> (default .data/crash-matrix: results.json + worker logs). Exit 1 if any point fails.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DevServerProcess } from '../test/helpers/dev-server-process';
import {
  RUNBOOKS, compareToBaseline, crashPoints, planMatrix, pool, runWithKill, samplePoints, type RunRecord,
} from '../test/helpers/crash-points';
import { workflowBundleFile } from '../test/helpers/worker-process';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const t0 = Date.now();
  const outDir = path.resolve(arg('out') ?? '.data/crash-matrix');
  fs.mkdirSync(outDir, { recursive: true });
  const concurrency = Number(arg('concurrency') ?? 2);
  let points = crashPoints();
  const only = arg('only')?.split(',').filter(Boolean);
  if (only) points = points.filter((p) => only.some((o) => p.id.includes(o)));
  if (arg('sample')) points = samplePoints(points, Number(arg('sample')), Number(arg('seed') ?? Math.floor(Date.now() / 86_400_000)));
  const log = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  log(`${points.length} kill points, concurrency ${concurrency}, results in ${outDir}`);

  const server = await DevServerProcess.start();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const stopAll = async () => {
    await connection.close().catch(() => undefined);
    await server.stop({ removeDir: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await workflowBundleFile();
    const ctx = { client, temporalAddress: server.address, logDir: outDir, slowMs: 800, log };

    // baselines: every scenario of the runbooks the chosen points belong to
    const baselines = new Map<string, RunRecord>();
    const scenarios = RUNBOOKS.filter((rb) => points.some((p) => p.runbook === rb.name)).flatMap((rb) => rb.scenarios.map((sc) => ({ rb, sc })));
    await pool(scenarios, concurrency, async ({ rb, sc }) => {
      const rec = await runWithKill(ctx, rb, sc);
      baselines.set(`${rb.name}/${sc.name}`, rec);
      log(`baseline ${rb.name} (${sc.name}): ${rec.endState?.outcome ?? rec.error} in ${(rec.totalMs / 1000).toFixed(1)} s, ${rec.changes.length} destructive commands`);
      log(`  end state ${JSON.stringify(rec.endState)}\n  changes:\n    ${rec.changes.join('\n    ')}`);
    });
    for (const b of baselines.values()) {
      if (b.error || b.endState?.outcome !== 'completed') throw new Error(`baseline failed: ${JSON.stringify(b)}`);
    }
    const plan = planMatrix(points, baselines);
    for (const u of plan.unreachable) log(`UNREACHABLE ${u.id}: no scenario's uninterrupted run executes this step`);
    for (const u of plan.afterEnd) log(`NOT RUN ${u.id}: the run ends in the workflow task that takes this last step's result`);

    const results = await pool(plan.runs, concurrency, async ({ rb, scenario, point }) => {
      const rec = await runWithKill(ctx, rb, scenario, point);
      const verdict = compareToBaseline(rec, baselines.get(`${rb.name}/${scenario.name}`)!);
      log(
        `${verdict.ok ? 'ok  ' : 'FAIL'} ${point.id} [${scenario.name}] killed in ${rec.killedActivity ?? '?'}` +
          ` (${rec.confirmed === undefined ? 'unconfirmed' : rec.confirmed ? 'confirmed' : 'NOT where meant'}),` +
          ` run ${(rec.totalMs / 1000).toFixed(1)} s, kill→end ${((rec.afterKillMs ?? 0) / 1000).toFixed(1)} s` +
          (verdict.ok ? '' : `\n       ${verdict.problems.join('\n       ')}`),
      );
      return { point, scenario: scenario.name, rec, verdict };
    });

    const survived = results.filter((r) => r.verdict.ok).length;
    const duplicates = results.reduce((n, r) => n + r.verdict.duplicates.length, 0);
    const summary = {
      at: new Date().toISOString(),
      wallMs: Date.now() - t0,
      concurrency,
      tried: results.length,
      survived,
      duplicates,
      confirmed: results.filter((r) => r.rec.confirmed).length,
      byRunbook: Object.fromEntries(
        [...new Set(results.map((r) => r.point.runbook))].map((name) => {
          const mine = results.filter((r) => r.point.runbook === name);
          return [name, { tried: mine.length, survived: mine.filter((r) => r.verdict.ok).length, duplicates: mine.reduce((n, r) => n + r.verdict.duplicates.length, 0) }];
        }),
      ),
      unreachable: plan.unreachable.map((u) => u.id),
      baselines: [...baselines.entries()].map(([k, b]) => ({ scenario: k, ms: b.totalMs, changes: b.changes })),
      points: results.map((r) => ({
        id: r.point.id,
        scenario: r.scenario,
        ok: r.verdict.ok,
        confirmed: r.rec.confirmed,
        killedActivity: r.rec.killedActivity,
        totalMs: r.rec.totalMs,
        afterKillMs: r.rec.afterKillMs,
        duplicates: r.verdict.duplicates,
        problems: r.verdict.problems,
      })),
    };
    fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(summary, null, 2) + '\n');
    log(
      `kill points survived ${survived}/${results.length} (${summary.confirmed} landed exactly where meant), ` +
        `duplicate destructive commands ${duplicates}, unreachable ${plan.unreachable.length}, wall ${(summary.wallMs / 60_000).toFixed(1)} min`,
    );
    for (const [name, r] of Object.entries(summary.byRunbook)) log(`  ${name}: survived ${r.survived}/${r.tried}, duplicate destructive commands ${r.duplicates}`);
    return survived === results.length && plan.unreachable.length === 0 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
