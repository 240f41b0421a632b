// The main job: the Temporal dev server (Web UI, state in .data/temporal), the lab (.data/lab) and a
// worker running the runbooks against the lab. Ctrl-C stops all three.
//   npm start                         # lab + dev server + worker
//   RUNBOOK_INVENTORY=my.yaml npm start   # your own homelab instead of the lab (no lab started)
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../lab/src';
import { startDevServer } from '../src/shared/dev-server';
import { ensureSearchAttributes } from '../src/shared/search-attributes-setup';
import { TASK_QUEUE } from '../src/shared/connection';
import { createRunbookWorker } from '../src/worker';

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.RUNBOOK_DATA_DIR ?? '.data');
  const server = await startDevServer({ dataDir: path.join(dataDir, 'temporal') });
  console.log(`Temporal dev server: ${server.address}   Web UI: ${server.uiUrl}`);
  const cleanups: (() => Promise<unknown>)[] = [() => server.stop()];
  try {
    const admin = await Connection.connect({ address: server.address });
    const added = await ensureSearchAttributes(admin, 'default');
    if (added.length) console.log(`registered search attributes: ${added.join(', ')}`);
    await admin.close();

    let inventoryPath = process.env.RUNBOOK_INVENTORY;
    if (!inventoryPath) {
      const labDir = path.join(dataDir, 'lab');
      if (fs.existsSync(path.join(labDir, 'lab.json'))) await Lab.attach(labDir).stop(); // a lab left by a killed run
      const lab = await Lab.start({ dir: labDir });
      cleanups.unshift(() => lab.stop());
      inventoryPath = lab.inventoryPath;
      console.log(`lab up: ${lab.dir} (inventory ${inventoryPath})`);
    }
    const connection = await NativeConnection.connect({ address: server.address });
    const { worker, exec } = await createRunbookWorker({ inventoryPath, connection });
    cleanups.unshift(() => exec.close(), () => connection.close());
    console.log(`worker polling task queue "${TASK_QUEUE}". Start a rejoin from the Web UI (workflow type k3sRejoin,`);
    console.log(`input {"node": "k3s-vm-still-fawn"}) or: ./bin/runbook start k3s-rejoin --node k3s-vm-still-fawn`);
    await worker.run(); // until SIGINT/SIGTERM
  } finally {
    for (const c of cleanups) await c().catch((e: unknown) => console.error(`cleanup: ${String(e)}`));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
