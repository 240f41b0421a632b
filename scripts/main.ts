// The main job: the Temporal dev server (Web UI, state in .data/temporal), the lab (.data/lab) and a
// worker running the runbooks against the lab. Ctrl-C stops all three.
//   npm start                         # lab + dev server + worker
//   RUNBOOK_INVENTORY=my.yaml npm start   # your own homelab instead of the lab (no lab started)
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { APPROVERS, Lab } from '../lab/src';
import { startDevServer } from '../src/shared/dev-server';
import { ensureSearchAttributes } from '../src/shared/search-attributes-setup';
import { TASK_QUEUE } from '../src/shared/connection';
import { createRunbookWorker } from '../src/worker';
import { rehearsalCommands } from './rehearsal-commands';

async function main(): Promise<void> {
  // Ctrl-C at any point stops everything started so far: before the worker runs we clean up
  // ourselves; once it runs, the SDK's own SIGINT handling ends worker.run() and `finally` cleans up.
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0)) await c().catch((e: unknown) => console.error(`cleanup: ${String(e)}`));
  };
  let workerRunning = false;
  let interrupted = false;
  const onSignal = () => {
    if (workerRunning || interrupted) return;
    interrupted = true;
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dataDir = path.resolve(process.env.RUNBOOK_DATA_DIR ?? '.data');
  // (a lab half-started when Ctrl-C came is stopped by the next `npm start`, which finds its lab.json)
  const server = await startDevServer({ dataDir: path.join(dataDir, 'temporal') });
  console.log(`Temporal dev server: ${server.address}   Web UI: ${server.uiUrl}`);
  cleanups.push(() => server.stop());
  try {
    const admin = await Connection.connect({ address: server.address });
    const added = await ensureSearchAttributes(admin, 'default');
    if (added.length) console.log(`registered search attributes: ${added.join(', ')}`);
    await admin.close();

    let inventoryPath = process.env.RUNBOOK_INVENTORY;
    let lab: Lab | undefined;
    if (!inventoryPath) {
      const labDir = path.join(dataDir, 'lab');
      if (fs.existsSync(path.join(labDir, 'lab.json'))) await Lab.attach(labDir).stop(); // a lab left by a killed run
      // stopOnExit off: the lab's own SIGINT handler would exit before the worker and server stop
      const started = await Lab.start({ dir: labDir, stopOnExit: false });
      lab = started;
      cleanups.unshift(() => started.stop());
      inventoryPath = started.inventoryPath;
      console.log(`lab up: ${started.dir} (inventory ${inventoryPath})`);
    }
    const connection = await NativeConnection.connect({ address: server.address });
    const { worker, exec } = await createRunbookWorker({ inventoryPath, connection });
    cleanups.unshift(() => exec.close(), () => connection.close());
    console.log(`worker polling task queue "${TASK_QUEUE}". Start a rejoin from the Web UI (workflow type k3sRejoin,`);
    console.log(`input {"node": "k3s-vm-still-fawn"}) or: ./bin/runbook start k3s-rejoin --node k3s-vm-still-fawn`);
    if (lab) {
      console.log(`The lab's approvers sign their decisions with these keys (allowed_signers: ${lab.allowedSignersPath}):`);
      for (const name of APPROVERS) console.log(`  ${name.padEnd(6)} ${lab.approverKey(name)}`);
    }
    // alice's lab key, or (your own homelab) none: the CLI signs with ssh-agent's first key
    for (const line of rehearsalCommands(lab?.approverKey('alice')).lines) console.log(line);
    if (interrupted) return;
    workerRunning = true;
    await worker.run(); // until SIGINT/SIGTERM
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
