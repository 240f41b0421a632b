// Runbook, Phase 2: move the PBS datastore with its 3 TB disk from one Proxmox host to another.
// Reads top to bottom as the runbook: checks, the release behind its gate, the disk move by hand,
// the import and registration behind theirs, the check that every snapshot made it, and the cleanup.
import { condition, proxyActivities } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { readOnlyActivities } from './runbook/local-checks';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { checkPbsMigrationInput, type PbsMigrationInput } from './pbs-migration-input';
import { inTheLab } from './runbook/lab-verb';

export type { PbsMigrationInput };

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };
// read-only checks and preflights: local activities in runs with the local-checks patch (local-checks.ts)
const checks = readOnlyActivities<RunbookActivities>({ startToCloseTimeout: '3m', heartbeatTimeout: '15s', retry });
const changes = proxyActivities<RunbookActivities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry });

export const PBS_MIGRATION_STEPS: StepDef[] = [
  { id: 'read-inventory', title: 'Find the datastore, its pool, disk and both hosts in the inventory', kind: 'check',
    verifies: "The inventory's `pbs` section: datastore and its path, ZFS pool, disk serial, the old and new host, and the PVE storage that will point at the new host." },
  { id: 'datastore-healthy', title: 'The PBS datastore, its ZFS pool and the PVE storage are healthy', kind: 'check',
    verifies: "On the old host: the datastore is configured at the inventory's path and not in maintenance, its pool is ONLINE, PVE's storage is active. Also reads what the datastore carries (settings, verify/prune/sync jobs, ACLs); the new host's PBS must be 3.3 or later and have every sync job's remote, and a tape backup job of the store stops the run." },
  { id: 'backups-verified', title: "Every guest's last backup is recent and verified (the snapshot list is recorded)", kind: 'check',
    verifies: "Every guest's last snapshot in the PVE storage is younger than `pbs.maxBackupAge` and verified; the whole snapshot list is recorded for `verify-snapshots`." },
  { id: 'no-backup-running', title: 'No backup job is running', kind: 'check',
    verifies: 'No vzdump task runs anywhere in the cluster; records the enabled backup jobs that write to the storage (the ones the release pauses).' },
  { id: 'release-datastore', title: 'Disable the backup jobs, take the datastore offline, export the pool', kind: 'change',
    verifies: 'Read again: the jobs are disabled, the datastore is in offline maintenance mode, the pool is no longer imported on the old host.' },
  { id: 'move-disk', title: 'Move the disk to the new host', kind: 'manual',
    verifies: 'Ends with the operator\'s `done`; `detect-disk` then looks for the disk, and opens this step again while the new host does not see it.' },
  { id: 'detect-disk', title: 'Find the disk on the new host by its /dev/disk/by-id serial', kind: 'check',
    verifies: 'The new host lists a /dev/disk/by-id name with the disk serial (sdX names change between hosts), resolved to its device.' },
  { id: 'import-pool', title: 'Import the ZFS pool from /dev/disk/by-id', kind: 'change', noGate: 'importing by /dev/disk/by-id without -f destroys nothing',
    verifies: 'Before: the pool is importable from /dev/disk/by-id and was exported on the old host (never forced). Read again: the pool is ONLINE on the new host.' },
  { id: 'register-datastore', title: "Register the datastore re-using its chunk store; re-point PVE's storage", kind: 'change',
    verifies: "Read back through the API: the datastore with the old settings, every verify/prune/sync job and ACL, and PVE's storage pointing at the new host with its fingerprint, every other option, ACL and secret file unchanged." },
  { id: 'verify-snapshots', title: 'The snapshot list matches the one recorded before the move', kind: 'check',
    verifies: 'Every snapshot recorded by `backups-verified` is listed through the re-pointed storage (new ones may be added).' },
  { id: 'enable-backup-jobs', title: 'Re-enable the backup jobs', kind: 'change', noGate: 'it only re-enables the jobs this run disabled',
    verifies: 'Read again: every job the release disabled is enabled.' },
  { id: 'remove-old-datastore', title: 'Remove the old datastore entry on the old host', kind: 'change',
    verifies: "Before: PVE's storage points at the new host, and every job and ACL the removal deletes exists there. Read again: the entry is no longer listed on the old host (its data is untouched)." },
];

/** The move-disk step's instructions (exported for the generated docs). */
export function moveInstructions(m: { from: string; to: string; diskSerial: string; pool: string; lab?: { dir: string } }, notFound?: string): string {
  return (
    (notFound ? `${notFound}. ` : '') +
    `Shut down ${m.from} if its bays are not hot-swap, take out the disk with serial ${m.diskSerial} (ZFS pool ${m.pool}, ` +
    `exported), put it into ${m.to} and check that ${m.to} sees it (ls /dev/disk/by-id | grep ${m.diskSerial}). ` +
    'Then send `done` for step "move-disk" (or `abort` to stop here: the jobs stay disabled and the pool exported).' +
    inTheLab(m.lab, [['move-disk', '--serial', m.diskSerial, '--to', m.to]])
  );
}

/** A manual step ended only by the operator's `done` (cancellable, so the gate's end releases it). */
const operatorOnly = async () => {
  await condition(() => false);
  return { evidence: [] };
};

export async function pbsMigration(rawInput: PbsMigrationInput): Promise<RunbookResult> {
  const input = checkPbsMigrationInput(rawInput);
  const rb = new Runbook({
    name: 'pbs-migration',
    target: 'pbs',
    dryRun: input.dryRun,
    requestedBy: input.requestedBy,
    gateDeadline: input.gateDeadline,
    preApproved: input.preApproved,
    startSignature: input.startSignature,
    steps: PBS_MIGRATION_STEPS,
  });

  return rb.run(async () => {
    const move = await rb.check('read-inventory', () => checks.describePbsMove());
    // also reads what the datastore carries (settings, jobs, ACLs) and the new host's PBS version
    const healthy = await rb.check('datastore-healthy', () => checks.checkDatastoreHealthy({ host: move.from }));
    const before = await rb.check('backups-verified', () => checks.checkBackupsRecentVerified({ host: move.from }));
    const idle = await rb.check('no-backup-running', () => checks.checkNoBackupRunning({ host: move.from }));

    const released = await rb.change('release-datastore', {}, checks.planRelease, changes.releaseDatastore);
    const pausedJobs = released?.disabledJobs ?? idle.jobsToPause;

    await rb.manual('move-disk', moveInstructions(move), operatorOnly);
    if (input.dryRun) {
      rb.skip('detect-disk', 'dry run: the disk has not moved');
    } else {
      let disk = await rb.check('detect-disk', () => checks.detectDisk({ host: move.to }));
      while (!disk.found) {
        await rb.manual('move-disk', moveInstructions(move, `${move.to} does not see a disk with serial ${move.diskSerial}`), operatorOnly);
        disk = await rb.check('detect-disk', () => checks.detectDisk({ host: move.to }));
      }
    }

    const dryRun = input.dryRun;
    await rb.change('import-pool', { dryRun }, checks.planImportPool, changes.importPool);
    await rb.change('register-datastore', { carry: healthy.carry }, checks.planRegister, changes.registerDatastore);
    if (dryRun) rb.skip('verify-snapshots', 'dry run');
    else await rb.check('verify-snapshots', () => checks.verifySnapshotsMatch({ host: move.to, before: before.snapshots }));
    await rb.change('enable-backup-jobs', { jobs: pausedJobs, dryRun }, checks.planEnableJobs, changes.enableBackupJobs);
    await rb.change('remove-old-datastore', { dryRun }, checks.planRemoveOldDatastore, changes.removeOldDatastore);

    if (dryRun) return `dry run: datastore ${move.datastore} can move ${move.from} → ${move.to} with ${before.snapshots.length} snapshots; nothing was changed`;
    return `datastore ${move.datastore} now served by ${move.to} (${move.toServer}); PVE storage ${move.storage} re-pointed; all ${before.snapshots.length} snapshots present`;
  });
}
