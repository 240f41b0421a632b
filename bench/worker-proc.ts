// A worker process for the start-up and crash/resume benchmarks, built like src/worker.ts (inventory,
// ssh2 pool, the project's activities) plus the benchmark's activity. Environment:
//   BENCH_TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_INVENTORY, BENCH_STEP_LOG,
//   BENCH_BUNDLE=<path of a prebuilt workflow bundle>  (unset: bundle bench/workflows-all.ts at start)
//   BENCH_STICKY_TIMEOUT=<duration>  (stickyQueueScheduleToStartTimeout; unset: the SDK default, 10s)
// Prints `ready <ms since epoch> <JSON of phase timestamps>` once Worker.create returned.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import { createExecutor } from '../src/activities/exec/executor';
import { loadInventory } from '../src/inventory/load';
import { createBenchActivities } from './activities';

async function main(): Promise<void> {
  const phases: Record<string, number> = { processStart: Math.round(performance.timeOrigin), modulesLoaded: Date.now() };
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
  };
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const inventory = loadInventory(env('BENCH_INVENTORY'));
  const exec = createExecutor(inventory);
  const connection = await NativeConnection.connect({ address: env('BENCH_TEMPORAL_ADDRESS') });
  phases.connected = Date.now();
  const bundle = process.env.BENCH_BUNDLE;
  const worker = await Worker.create({
    connection,
    taskQueue: env('BENCH_TASK_QUEUE'),
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflows-all') }),
    ...(process.env.BENCH_STICKY_TIMEOUT ? { stickyQueueScheduleToStartTimeout: process.env.BENCH_STICKY_TIMEOUT as '1s' } : {}),
    activities: { ...createActivities({ inventory, exec }), ...createBenchActivities(exec, process.env.BENCH_STEP_LOG) },
  });
  phases.workerCreated = Date.now();
  process.stdout.write(`ready ${phases.workerCreated} ${JSON.stringify(phases)}\n`);
  process.once('SIGTERM', () => worker.shutdown());
  try {
    await worker.run();
  } finally {
    await exec.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
