import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { Lab } from '../lab/src';
import { createExecutor } from '../src/activities/exec/executor';
import { loadInventory } from '../src/inventory/load';
import { temporalExecutable } from '../src/shared/temporal-cli';
import { createBenchActivities } from './activities';
import { preflight } from './commands';
import { connectRaw, runRaw, closeRaw } from './floor';
import { median } from './stats';
let n = 0;
(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const variant = process.argv[2] ?? 'default';
  const extraArgs = variant.includes('eager') ? ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'] : [];
  const [env, lab, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable(), extraArgs } }),
    Lab.start(),
    bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') }),
  ]);
  try {
    const inv = loadInventory(lab.inventoryPath);
    const exec = createExecutor(inv);
    const extra: Partial<WorkerOptions> = {};
    if (variant.includes('simplepoll')) { extra.workflowTaskPollerBehavior = { type: 'simple-maximum', maximum: 2 }; extra.activityTaskPollerBehavior = { type: 'simple-maximum', maximum: 2 } as any; }
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'tq', workflowBundle: { code: bundle.code }, activities: createBenchActivities(exec), ...extra });
    const running = worker.run();
    const commands = preflight(20);
    const raw = await connectRaw(inv, ['pve']);
    const res: Record<string, number[]> = { floor: [], engine: [], dispatch: [], act: [], between: [], start: [], tail: [] };
    for (let i = 0; i < 6; i++) {
      let t0 = performance.now(); await runRaw(raw, commands); if (i) res.floor!.push(performance.now() - t0);
      t0 = performance.now(); const ts = Date.now();
      const s = await env.client.workflow.execute('benchSteps', { taskQueue: 'tq', workflowId: `w${++n}`, args: [{ host: 'pve', commands }] }) as any[];
      const te = Date.now();
      if (i) {
        res.engine!.push(performance.now() - t0);
        res.dispatch!.push(s.reduce((a, x) => a + x.startedAt - x.scheduledAt, 0) / s.length);
        res.act!.push(s.reduce((a, x) => a + x.endedAt - x.startedAt, 0) / s.length);
        res.between!.push(s.slice(1).reduce((a, x, j) => a + x.scheduledAt - s[j].endedAt, 0) / (s.length - 1));
        res.start!.push(s[0].scheduledAt - ts); res.tail!.push(te - s.at(-1).endedAt);
      }
    }
    console.log(variant, Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v) * 10) / 10])));
    closeRaw(raw); worker.shutdown(); await running; await exec.close();
  } finally { await lab.stop(); await env.teardown(); }
})().catch((e) => { console.error(e); process.exit(1); });
