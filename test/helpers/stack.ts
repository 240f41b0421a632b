// The whole stack for an end-to-end test: a real dev server, a lab, and a worker with the real
// activities and exec layer pointed at the lab's inventory. Everything is torn down in stop().
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { Lab, type LabOptions } from '../../lab/src';
import { createRunbookWorker } from '../../src/worker';
import { labSecrets, scanForSecrets } from './secrets';
import { startTemporal, uniqueId, workflowBundle } from './temporal';

export interface Stack {
  env: TestWorkflowEnvironment;
  lab: Lab;
  taskQueue: string;
  /** The dev server's Web UI, when started with `{ ui: true }`. */
  uiUrl?: string;
  startRejoin(input: object): Promise<WorkflowHandle>;
  /** Starts any runbook by workflow type with its one object argument, on this stack's task queue. */
  start(workflowType: string, input: object, summary?: string): Promise<WorkflowHandle>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Serve the dev server's Web UI too (browser tests). */
  ui?: boolean;
}

export async function startStack(labOptions: LabOptions = {}, options: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  // Set once the stack is up: every run's history and the worker's logs are searched for secrets
  // before anything is torn down, and a hit fails the caller's after() (issue 5 item 6).
  let scan: (() => Promise<void>) | undefined;
  const stop = async () => {
    let leak: unknown;
    const scanning = scan;
    scan = undefined;
    if (scanning) await scanning().catch((e: unknown) => (leak = e));
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('cleanup:', e));
    cleanups.length = 0;
    if (leak) throw leak;
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
    const secrets = labSecrets(lab);
    scan = async () => {
      const r = await scanForSecrets({ client: env.client, secrets });
      console.log(`secrets scan: ${r.runs} runs, ${r.events} history events, ${r.logLines} worker log lines, ${secrets.length} secret values: ${r.hits.length} hits`);
      if (r.hits.length) throw new Error(`secrets leaked:\n  ${r.hits.join('\n  ')}`);
    };
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
      start: (workflowType, input, summary) =>
        env.client.workflow.start(workflowType, {
          taskQueue,
          workflowId: uniqueId(workflowType),
          args: [input],
          staticSummary: summary ?? workflowType,
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
