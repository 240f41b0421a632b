// The pbs-migration doc's commands and instructions, rendered by Phase 2's own renderers and
// instruction function with placeholder values.
import * as pbs from '../../activities/pbs/commands';
import { checkPbsMigrationInput } from '../../workflows/pbs-migration-input';
import { moveInstructions, PBS_MIGRATION_STEPS } from '../../workflows/pbs-migration';
import { docInventory, P } from '../doc-inventory';
import type { RunbookDocSource } from '../types';

const move = { from: P.from, to: P.to, diskSerial: P.diskSerial, pool: P.pool };
const port = docInventory.pbs!.port;

export const pbsMigrationDoc: RunbookDocSource = {
  name: 'pbs-migration',
  source: 'src/workflows/pbs-migration.ts',
  steps: PBS_MIGRATION_STEPS,
  defaults: checkPbsMigrationInput({}),
  instructions: {
    'move-disk': { text: moveInstructions(move), lab: moveInstructions({ ...move, lab: { dir: P.labDir } }) },
  },
  commands: {
    'release-datastore': {
      on: 'the old host `<old host>`',
      commands: [pbs.setJobEnabled(P.backupJob, false), pbs.setMaintenanceOffline(P.datastore), pbs.zpoolExport(P.pool)],
      onlyIfNeeded:
        'one `pvesh set` per enabled backup job that writes to `<pve storage>`; the maintenance mode only while the datastore is not offline; the export only while the pool is imported.',
    },
    'import-pool': {
      on: 'the new host `<new host>`',
      commands: [pbs.zpoolImport(P.pool)],
      onlyIfNeeded: 'nothing when the pool is imported already. Never with `-f`: a pool not exported on the old host stops the run.',
    },
    'register-datastore': {
      on: 'the new host `<new host>`',
      commands: [
        pbs.createDatastoreReuse(P.datastore, P.datastorePath, { 'gc-schedule': P.gcSchedule }),
        pbs.jobCreate('verify', P.pbsJob, { schedule: P.schedule, store: P.datastore }),
        pbs.pbsAclUpdate({ path: `/datastore/${P.datastore}`, ugid: P.authId, ugidType: 'user', roleid: P.role, propagate: true }),
        ...pbs.repointStorage({ storage: P.pveStorage, server: P.toAddress, port, fingerprint: P.fingerprint, hasFingerprint: true, hasPort: false }),
      ],
      onlyIfNeeded:
        "`datastore create` carries every setting of the old datastore as `--<option> <value>` (gc-schedule shown); a datastore registered already gets " +
        '`datastore update` of the settings that differ instead. One `<kind>-job create` per verify, prune or sync job of the old datastore the new host lacks, ' +
        "with its options; one `acl update` per missing ACL. The re-point (the script after them) runs only while PVE's storage does not point at the new host " +
        "with its fingerprint: it rewrites only the server, fingerprint and port lines of the entry, under PVE's storage.cfg lock.",
    },
    'enable-backup-jobs': {
      on: 'the new host `<new host>` (the jobs are cluster-wide)',
      commands: [pbs.setJobEnabled(P.backupJob, true)],
      onlyIfNeeded: 'one per job the release disabled that is still disabled.',
    },
    'remove-old-datastore': {
      on: 'the old host `<old host>`',
      commands: [pbs.removeDatastore(P.datastore)],
      onlyIfNeeded: 'nothing when the entry is gone already. The data stays (destroy-data defaults to false); the disk has left this host anyway.',
    },
  },
};
