// The main job: the Temporal dev server (Web UI, state in .data/temporal), the lab (.data/lab) and a
// worker running the runbooks against the lab. The lab is a homelab: Ctrl-C (or a kill, or a reboot of the
// machine) powers it off and keeps it, and the next `npm start` powers the same one on again, where the
// worker resumes every run.
//   npm start                         # lab + dev server + worker
//   npm start -- --fresh-lab          # a new lab instead (the old one removed)
//   RUNBOOK_DATA_DIR, RUNBOOK_TEMPORAL_PORT, RUNBOOK_TEMPORAL_UI_PORT: where (default .data, 7233, 8233)
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

/** A port from the environment (tests run their own main job); unset: the dev server's default (7233, UI 8233). */
function envPort(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new Error(`${name} must be a TCP port, not "${v}"`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--fresh-lab');
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(' ')} (the one option: --fresh-lab)`);
  const freshLab = args.includes('--fresh-lab');
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
  // (a lab half-built when Ctrl-C came is killed and built anew by the next `npm start`: its lab.json has no builtAt)
  const server = await startDevServer({ dataDir: path.join(dataDir, 'temporal'), port: envPort('RUNBOOK_TEMPORAL_PORT'), uiPort: envPort('RUNBOOK_TEMPORAL_UI_PORT') });
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
      if (freshLab && fs.existsSync(path.join(labDir, 'lab.json'))) await Lab.attach(labDir).stop(); // removed: a new one is built
      // persist: the lab built earlier in labDir is powered on again (whatever of it a kill -9 left running
      // is power-cycled); stopOnExit off: the lab's own SIGINT handler would exit before the worker and server stop
      const started = await Lab.start({ dir: labDir, stopOnExit: false, persist: true });
      lab = started;
      cleanups.unshift(() => started.stop({ keepDir: true })); // powered off, kept for the next start
      inventoryPath = started.inventoryPath;
      console.log(
        started.resumed
          ? `lab resumed: ${started.dir}, the same homelab powered on again (subnet ${started.subnet}.x; a new one: npm start -- --fresh-lab)`
          : `lab built: ${started.dir} (subnet ${started.subnet}.x; Ctrl-C powers it off and keeps it)`,
      );
      console.log(`lab inventory: ${inventoryPath}`);
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
