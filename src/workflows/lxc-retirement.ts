// Runbook (Phase 4): retire the old Frigate LXC once the new Frigate in K3s has proven itself.
// Soak the new Frigate's health, back the CT up to PBS and see the archive there, stop the CT, wait a
// grace period, then destroy it (a point of no return). A CT that is already gone from the whole
// cluster is a finished run; one that lives on another node, or whose destroy would free a volume the
// backup leaves out (a mount point without backup=1), is refused before any change.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { readOnlyActivities } from './runbook/local-checks';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { checkLxcRetirementInput, findArchive, type LxcRetirementInput } from './lxc-retirement-input';

export type { LxcRetirementInput };

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };
const checkOptions = { startToCloseTimeout: '3m', heartbeatTimeout: '15s', retry };
// read-only checks and preflights: local activities in runs with the local-checks patch (local-checks.ts)
const checks = readOnlyActivities<RunbookActivities>(checkOptions);
// the soak's check runs once a day: a round trip saves nothing there, and a normal activity is
// scheduled at the workflow's time (a local one carries the worker's clock), which is what the soak is
const soakChecks = proxyActivities<RunbookActivities>(checkOptions);
const changes = proxyActivities<RunbookActivities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry });
// vzdump of a big CT takes hours; the exec layer heartbeats while it runs
const backups = proxyActivities<RunbookActivities>({ startToCloseTimeout: '7h', heartbeatTimeout: '1m', retry });

/** A backup taken this long before the backup step still counts (clock skew between worker and host). */
const BACKUP_SKEW_MS = 10 * 60_000;

export const LXC_RETIREMENT_STEPS: StepDef[] = [
  { id: 'read-inventory', title: 'Find the Frigate LXC and the PBS storage its backup goes to', kind: 'check',
    verifies: "The CT of `frigate.lxc` and the PVE storage `pbs.pveStorage`: it is of type pbs in storage.cfg and points at a host of the inventory (the PBS that will hold the backup)." },
  { id: 'lxc-state', title: 'Find the LXC in the cluster (running, stopped, or already destroyed) and check that its backup holds every volume the destroy frees', kind: 'check',
    verifies: 'Running, stopped, or gone from the whole cluster (a finished retirement: the rest is skipped). A CT on another node, or one whose destroy would free a volume the backup leaves out (a mount point without backup=1, an unusedN), stops the run before any change.' },
  { id: 'frigate-healthy', title: 'The new Frigate stays healthy for the whole soak', kind: 'soak',
    verifies: "Frigate's health through its API (version, Coral inference speed, every camera's fps) at once, every `checkEvery` and at the end of `healthyFor`." },
  { id: 'backup', title: 'Back up the LXC with vzdump to PBS', kind: 'change',
    verifies: "vzdump's log names the archive and leaves no volume out, and the datastore lists that archive." },
  { id: 'archive-exists', title: 'The backup archive is in the PBS datastore', kind: 'check',
    verifies: 'The snapshot list of the PVE storage holds the archive the backup named, for this CT (verified or not yet).' },
  { id: 'stop-ct', title: 'Stop the LXC', kind: 'change',
    verifies: '`pct status` says stopped and `pct config` has no `onboot: 1` (a reboot of the host during the grace leaves it stopped).' },
  { id: 'grace', title: 'Grace period with the LXC stopped (it can still be started again)', kind: 'wait',
    verifies: 'Nothing is checked: a durable timer of `grace` with the CT stopped; it can still be brought back.' },
  { id: 'destroy-ct', title: 'Destroy the LXC (its backup stays in PBS)', kind: 'change', irreversible: true,
    verifies: 'Before: the CT is stopped, its archive is in the datastore, and every volume the destroy frees is in the backup. Read again: the CT is gone from the node and from the whole cluster.' },
  { id: 'verify-gone', title: 'The LXC no longer exists on any node of the cluster', kind: 'check',
    verifies: "The CT is in no node's guest list of the cluster." },
];

export async function lxcRetirement(rawInput: LxcRetirementInput): Promise<RunbookResult> {
  const input = checkLxcRetirementInput(rawInput);
  const rb = new Runbook({
    name: 'lxc-retirement',
    target: 'frigate-lxc',
    dryRun: input.dryRun,
    requestedBy: input.requestedBy,
    gateDeadline: input.gateDeadline,
    preApproved: input.preApproved,
    startSignature: input.startSignature,
    steps: LXC_RETIREMENT_STEPS,
  });

  return rb.run(async () => {
    const ct = await rb.check('read-inventory', () => checks.describeFrigateLxc({}));
    const { host, ctid } = ct;
    const found = await rb.check('lxc-state', () => checks.readCtState({ host, ctid }));

    if (found.state === 'gone') {
      for (const id of ['frigate-healthy', 'backup', 'archive-exists', 'stop-ct', 'grace', 'destroy-ct']) rb.skip(id, `CT ${ctid} on ${host} is already destroyed`);
      await rb.check('verify-gone', () => checks.readCtState({ host, ctid }));
      return `CT ${ctid} on ${host} was already destroyed: nothing to do`;
    }

    await rb.soak('frigate-healthy', {
      duration: input.healthyFor,
      every: input.checkEvery,
      check: () => soakChecks.checkFrigateHealth({}),
    });

    const notBefore = new Date(Date.now() - BACKUP_SKEW_MS).toISOString();
    const backup = await rb.change('backup', { ...ct, notBefore }, checks.planBackup, backups.backupCt);
    if (backup) {
      await rb.check('archive-exists', async () => findArchive(await checks.listBackupSnapshots({ host }), ctid, backup.archive, ct.pbsHost));
    } else {
      rb.skip('archive-exists', 'dry run: no backup was taken');
    }

    await rb.change('stop-ct', { host, ctid }, checks.planStopCt, changes.stopCt);
    await rb.timer('grace', input.grace, `CT ${ctid} stays stopped for ${input.grace} before it is destroyed; \`pct start ${ctid}\` still brings it back`);
    await rb.change('destroy-ct', { ...ct, dryRun: input.dryRun }, checks.planDestroyCt, changes.destroyCt);

    if (input.dryRun) {
      rb.skip('verify-gone', 'dry run');
      return `dry run: CT ${ctid} on ${host} can be retired after a ${input.healthyFor} soak; nothing was changed`;
    }
    const gone = await rb.check('verify-gone', () => checks.readCtState({ host, ctid }));
    if (gone.state !== 'gone') throw ApplicationFailure.nonRetryable(`CT ${ctid} on ${host} still exists (${gone.state}) after the destroy step`, 'VerifyFailed');
    return `CT ${ctid} on ${host} retired: backed up as ${backup!.archive} in PBS on ${ct.pbsHost}, stopped, destroyed after ${input.grace}`;
  });
}
