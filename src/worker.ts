// The worker: runs the runbook workflows and their activities against one inventory.
//   RUNBOOK_INVENTORY=inventory.yaml npm run worker
import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { redactingActivityInterceptor } from './activities/exec/redacting-interceptor';
import { createActivities } from './activities';
import { createExecutor } from './activities/exec/executor';
import { loadInventory } from './inventory/load';
import { codecDataConverter, codecFromEnv } from './shared/codec';
import { connectConfig, TASK_QUEUE } from './shared/connection';
import { freshPrebuiltBundle, WORKFLOWS_DIR } from './shared/workflow-bundle';

export interface RunbookWorkerOptions {
  inventoryPath: string;
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** Pre-bundled workflow code (tests bundle once); default: bundle src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Payload encryption; default: from RUNBOOK_CODEC_KEY_FILE / RUNBOOK_CODEC_KEY, none when unset. */
  payloadCodec?: PayloadCodec | null;
}

function workflowCode(given: RunbookWorkerOptions['workflowBundle']): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (given) return { workflowBundle: given };
  const prebuilt = freshPrebuiltBundle();
  return prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: WORKFLOWS_DIR };
}

/** A worker with real activities; the caller runs it and closes `exec` after. */
export async function createRunbookWorker(opts: RunbookWorkerOptions) {
  const inventory = loadInventory(opts.inventoryPath);
  const exec = createExecutor(inventory);
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...workflowCode(opts.workflowBundle),
    // a worker killed at a gate hands its runs over after 1 s, not the default 10 s: resume at a gate is then
    // about a compiled worker's start-up (docs/benchmarks.md §4); a busy worker that misses it only replays.
    // (1 s once made the restart e2e's install fail after a power cycle: the lab's K3s failed its join while
    // the cluster was still booting, where real K3s waits; the lab and install-k3s now wait for the cluster)
    stickyQueueScheduleToStartTimeout: '1s',
    activities: createActivities({ inventory, exec }),
    interceptors: { activity: [redactingActivityInterceptor] },
    ...codecDataConverter(opts.payloadCodec === undefined ? codecFromEnv() : (opts.payloadCodec ?? undefined)),
  });
  return { worker, exec };
}

async function main(): Promise<void> {
  const inventoryPath = process.env.RUNBOOK_INVENTORY ?? 'inventory.yaml';
  const { connectionOptions, namespace } = connectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  const { worker, exec } = await createRunbookWorker({ inventoryPath, connection, namespace });
  console.log(`worker: task queue ${TASK_QUEUE}, namespace ${namespace}, inventory ${inventoryPath}`);
  try {
    await worker.run();
  } finally {
    await exec.close();
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
