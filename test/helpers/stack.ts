// The whole stack for an end-to-end test: a real dev server, a lab, and a worker with the real
// activities and exec layer pointed at the lab's inventory. Everything is torn down in stop().
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Lab, type LabOptions } from '../../lab/src';
import { createRunbookWorker } from '../../src/worker';
import { startTemporal, uniqueId, workflowBundle } from './temporal';

export interface Stack {
  env: TestWorkflowEnvironment;
  lab: Lab;
  taskQueue: string;
  /** The dev server's Web UI, when started with `{ ui: true }`. */
  uiUrl?: string;
  startRejoin(input: object): Promise<WorkflowHandle>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Serve the dev server's Web UI too (browser tests). */
  ui?: boolean;
}

export async function startStack(labOptions: LabOptions = {}, options: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e));
    cleanups.length = 0;
  };
  try {
    const env = await startTemporal({ ui: options.ui });
    cleanups.push(() => env.teardown());
    const lab = await Lab.start(labOptions);
    cleanups.push(() => lab.stop());
    const taskQueue = uniqueId('e2e');
    const { worker, exec } = await createRunbookWorker({
      inventoryPath: lab.inventoryPath,
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
      await exec.close();
    });
    return {
      env,
      lab,
      taskQueue,
      uiUrl: env.uiUrl,
      startRejoin: (input) =>
        env.client.workflow.start('k3sRejoin', {
          taskQueue,
          workflowId: uniqueId('rejoin'),
          args: [input],
          staticSummary: `Rejoin ${String((input as { node?: unknown }).node)} to the K3s cluster`,
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
