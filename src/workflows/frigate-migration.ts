// Runbook (Phase 3): move Frigate from its LXC on fun-bedbug into K3s on still-fawn, with the PCIe
// Coral and the RX 580 (VAAPI). Checks first, then every change behind its approval gate; the LXC's
// Frigate stops only once Frigate in K3s is healthy, and the CT itself stays.
import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { checkFrigateInput, type FrigateMigrationInput } from './frigate-migration-input';

export type { FrigateMigrationInput };

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };
const checks = proxyActivities<RunbookActivities>({ startToCloseTimeout: '3m', heartbeatTimeout: '15s', retry });
const changes = proxyActivities<RunbookActivities>({ startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry });

export const FRIGATE_MIGRATION_STEPS: StepDef[] = [
  { id: 'read-inventory', title: 'Find the Frigate node, its host and VM, and the LXC in the inventory', kind: 'check' },
  { id: 'iommu', title: 'IOMMU groups exist on the Proxmox host', kind: 'check' },
  { id: 'pci-passthrough', title: 'The Coral and the RX 580 are on the host and bound to vfio-pci', kind: 'check' },
  { id: 'vm-running', title: 'The VM runs and its guest agent answers', kind: 'check' },
  { id: 'vm-devices', title: 'The VM sees /dev/apex_0 and /dev/dri/renderD128; VAAPI decodes H264 and HEVC', kind: 'check' },
  { id: 'lxc-frigate', title: "Today's Frigate in the LXC: service, cameras, recent recordings", kind: 'check' },
  { id: 'label-node', title: 'Label the node Frigate is pinned to', kind: 'change' },
  { id: 'copy-frigate-data', title: 'Copy the config and recent recordings from the LXC to the node', kind: 'change' },
  { id: 'deploy-frigate', title: 'Deploy Frigate to K3s with the Coral and VAAPI devices', kind: 'change' },
  { id: 'wait-rollout', title: 'Wait for the rollout and for the API to answer', kind: 'wait' },
  { id: 'verify-api', title: "Frigate's API: version, Coral inference speed, every camera above 0 fps, the copied recordings listed", kind: 'check' },
  { id: 'cutover', title: "Cut over: stop the LXC's Frigate service (the CT stays)", kind: 'change' },
];

export async function frigateMigration(rawInput: FrigateMigrationInput): Promise<RunbookResult> {
  const input = checkFrigateInput(rawInput);
  const rb = new Runbook({
    name: 'frigate-migration',
    target: 'frigate',
    dryRun: input.dryRun,
    requestedBy: input.requestedBy,
    gateDeadline: input.gateDeadline,
    preApproved: input.preApproved,
    startSignature: input.startSignature,
    steps: FRIGATE_MIGRATION_STEPS,
  });

  return rb.run(async () => {
    const where = await rb.check('read-inventory', () => checks.describeFrigate({}));

    await rb.check('iommu', async () => {
      const iommu = await checks.countIommuGroups({ host: where.host });
      if (iommu.groups === 0) {
        throw ApplicationFailure.nonRetryable(
          `${where.host} has 0 IOMMU groups: PCIe passthrough cannot work. Enable VT-d in the BIOS (the rejoin runbook's enable-vtd step) and run again`,
          'PreconditionFailed',
        );
      }
      return iommu;
    });
    await rb.check('pci-passthrough', () => checks.checkPciPassthrough({}));
    await rb.check('vm-running', () => checks.checkVmRunning({ host: where.host, vmid: where.vmid }));
    await rb.check('vm-devices', () => checks.checkFrigateDevices({}));
    const lxc = await rb.check('lxc-frigate', () => checks.checkLxcFrigate({}));

    await rb.change('label-node', {}, checks.planNodeLabel, changes.labelNode);
    const copied = await rb.change('copy-frigate-data', {}, checks.planFrigateCopy, changes.copyFrigateData);
    await rb.change('deploy-frigate', { dryRun: input.dryRun }, checks.planFrigateDeploy, changes.deployFrigate);

    if (input.dryRun) {
      rb.skip('wait-rollout', 'dry run');
      rb.skip('verify-api', 'dry run');
      rb.skip('cutover', "dry run: its preflight needs Frigate running in K3s (it stops the LXC's Frigate only then)");
      return `dry run: Frigate (${lxc.cameras.length} cameras) can move from CT ${where.ctid} to ${where.node}; nothing was changed`;
    }

    await rb.wait('wait-rollout', () =>
      proxyActivities<RunbookActivities>({ startToCloseTimeout: `${input.rolloutTimeoutSeconds + 180}s`, heartbeatTimeout: '1m', retry })
        .waitForFrigate({ timeoutSeconds: input.rolloutTimeoutSeconds }),
    );
    await rb.check('verify-api', async () => {
      const h = await checks.checkFrigateHealth({});
      if (!h.healthy) {
        throw ApplicationFailure.nonRetryable(`Frigate in K3s is not healthy; the LXC's Frigate keeps running: ${h.evidence.join('; ')}`, 'PreconditionFailed');
      }
      // the copy's promise, read through the new Frigate itself: its API lists the copied recordings
      if (!patched('frigate-recordings-listed')) return h;
      const listed = await checks.checkCopiedRecordingsListed({ recordings: copied?.recordings ?? [] });
      return { ...h, evidence: [...h.evidence, ...listed.evidence] };
    });
    await rb.change('cutover', {}, checks.planFrigateCutover, changes.cutoverFrigate);
    return `Frigate runs in K3s on ${where.node} with ${lxc.cameras.length} cameras; the LXC's Frigate (CT ${where.ctid}) is stopped and the CT kept`;
  });
}
