// Runbook (Phase 3): move Frigate from its LXC on fun-bedbug into K3s on still-fawn, with the PCIe
// Coral and the RX 580 (VAAPI). Checks first, then every change behind its approval gate; the LXC's
// Frigate stops only once Frigate in K3s is healthy, and the CT itself stays.
import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { readOnlyActivities } from './runbook/local-checks';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { checkFrigateInput, type FrigateMigrationInput } from './frigate-migration-input';

export type { FrigateMigrationInput };

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };
const checkOptions = { startToCloseTimeout: '3m', heartbeatTimeout: '15s', retry };
// read-only checks and preflights: local activities in runs with the local-checks patch (local-checks.ts)
const checks = readOnlyActivities<RunbookActivities>(checkOptions);
// a check that polls for up to 90 s (the VM's guest agent) and heartbeats meanwhile: a normal activity
const polls = proxyActivities<RunbookActivities>(checkOptions);
const changes = proxyActivities<RunbookActivities>({ startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry });

export const FRIGATE_MIGRATION_STEPS: StepDef[] = [
  { id: 'read-inventory', title: 'Find the Frigate node, its host and VM, and the LXC in the inventory', kind: 'check',
    verifies: "The inventory's `frigate` section: the K3s node Frigate goes to (its host and VM), and the CT it leaves." },
  { id: 'iommu', title: 'IOMMU groups exist on the Proxmox host', kind: 'check',
    verifies: "The node's Proxmox host has more than 0 IOMMU groups; 0 stops the run (enable VT-d: the rejoin's enable-vtd step)." },
  { id: 'pci-passthrough', title: 'The Coral and the RX 580 are on the host and bound to vfio-pci', kind: 'check',
    verifies: '`lspci -nnk` on the host lists the Coral and the GPU by their PCI ids (`frigate.pci`), each with driver vfio-pci.' },
  { id: 'vm-running', title: 'The VM runs and its guest agent answers', kind: 'check',
    verifies: '`qm status` says running and `qm guest cmd <vmid> ping` answers, polled for up to 90 s.' },
  { id: 'vm-devices', title: 'The VM sees /dev/apex_0 and /dev/dri/renderD128; VAAPI decodes H264 and HEVC', kind: 'check',
    verifies: 'In the VM: the Coral and the render node are character devices, and vainfo on the render node decodes H264 and HEVC.' },
  { id: 'lxc-frigate', title: "Today's Frigate in the LXC: service, cameras, recent recordings", kind: 'check',
    verifies: "In the CT: Frigate's service state, its config has cameras, and the recordings of the last `copy.recentHours` indexed in its database with their files." },
  { id: 'label-node', title: 'Label the node Frigate is pinned to', kind: 'change',
    verifies: 'Read again: the node object carries the label.' },
  { id: 'copy-frigate-data', title: 'Copy the config and recent recordings from the LXC to the node', kind: 'change',
    verifies: 'Read again: every copied recording is on the node with its size in the CT, and indexed in the database on the node with its /media/frigate path.' },
  { id: 'deploy-frigate', title: 'Deploy Frigate to K3s with the Coral and VAAPI devices', kind: 'change',
    verifies: 'Before: the config is on the node. Read again: the Deployment as stored carries every field of the rendered manifest.' },
  { id: 'wait-rollout', title: 'Wait for the rollout and for the API to answer', kind: 'wait',
    verifies: '`kubectl rollout status` of the Deployment succeeds and the API answers, within `rolloutTimeoutSeconds`; a failed rollout names the pods\' problem.' },
  { id: 'verify-api', title: "Frigate's API: version, Coral inference speed, every camera above 0 fps, the copied recordings listed", kind: 'check',
    verifies: "/api/version answers, the Coral's inference speed is at most `health.maxInferenceMs`, every camera runs above `health.minCameraFps`, and /api/<camera>/recordings lists every copied recording. Unhealthy: the LXC's Frigate keeps running." },
  { id: 'cutover', title: "Cut over: stop the LXC's Frigate service (the CT stays)", kind: 'change',
    verifies: "Before: Frigate in K3s is healthy. Read again: the LXC's Frigate service is inactive and disabled; the CT is kept." },
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
    await rb.check('vm-running', () => polls.checkVmRunning({ host: where.host, vmid: where.vmid }));
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
