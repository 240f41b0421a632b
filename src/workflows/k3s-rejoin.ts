// Runbook: bring a stale K3s server node back into the cluster (the seed's still-fawn recovery).
// Reads top to bottom as the runbook: checks first, then every change behind its approval gate.
import { proxyActivities } from '@temporalio/workflow';
import type { RunbookActivities } from '../activities';
import { Runbook, type StepDef } from './runbook/runbook';
import type { RunbookResult } from './runbook/types';
import { checkRejoinInput, type K3sRejoinInput } from './k3s-rejoin-input';
import { inTheLab } from './runbook/lab-verb';
import { readOnlyActivities } from './runbook/local-checks';

export type { K3sRejoinInput };

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 };
// the exec layer heartbeats every 2 s, so a dead worker's check is retried after 15 s, not 30 s
// (a local check's is retried when its workflow task times out)
const checkOptions = { startToCloseTimeout: '3m', heartbeatTimeout: '15s', retry };
// read-only checks and preflights: local activities in runs with the local-checks patch (local-checks.ts)
const checks = readOnlyActivities<RunbookActivities>(checkOptions);
// checks that poll for a while (a VM's agent for up to 90 s, etcd settling for up to 2 min) and
// heartbeat meanwhile: normal activities
const polls = proxyActivities<RunbookActivities>(checkOptions);
const changes = proxyActivities<RunbookActivities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry });
const watchers = proxyActivities<RunbookActivities>({
  startToCloseTimeout: '30d',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }, // until cancelled
});

/** The enable-vtd step's instructions (exported for the generated docs). */
export function enableVtd(node: { host: string; lab?: { dir: string } }): string {
  return (
    'The Proxmox host has 0 IOMMU groups: VT-d is off, so PCIe passthrough cannot work. In the BIOS: ' +
    'Advanced → System Agent Configuration → VT-d → Enabled, save and reboot the host. The run goes on by ' +
    'itself once the host is back with IOMMU groups; send `abort` to stop here with nothing changed.' +
    inTheLab(node.lab, [['bios', node.host, '--vtd', 'on']])
  );
}

export const K3S_REJOIN_STEPS: StepDef[] = [
  { id: 'read-inventory', title: 'Find the node, its Proxmox host and VM in the inventory', kind: 'check',
    verifies: 'The node is a K3s server of the inventory; reads its Proxmox host, VM id, address, whether it needs GPU passthrough, and the other server nodes.' },
  { id: 'iommu', title: 'IOMMU groups exist on the Proxmox host', kind: 'check',
    verifies: "Only for a node with GPU passthrough: the Proxmox host has more than 0 IOMMU groups (/sys/kernel/iommu_groups), and the host's boot id is recorded." },
  { id: 'enable-vtd', title: 'Enable VT-d in the BIOS and reboot the host', kind: 'manual',
    verifies: 'Opens only when the host has 0 IOMMU groups; ends by itself once the host has rebooted (SSH gone and back, or a new boot id), then `iommu` runs again.' },
  { id: 'vm-running', title: 'The VM runs and its guest agent answers', kind: 'check',
    verifies: '`qm status` says running and `qm guest cmd <vmid> ping` answers, polled for up to 90 s (a VM that just booted needs a moment for its agent).' },
  { id: 'cluster-health', title: 'The rest of the etcd cluster is healthy and keeps quorum', kind: 'check',
    verifies: "Read through the first other server whose etcd answers: every other member is healthy, and quorum holds before and after the stale node's member is removed. No quorum, or another unhealthy member, stops the run." },
  { id: 'stale-member', title: 'Identify the stale etcd member', kind: 'check',
    verifies: "Exactly one etcd member is the node's (its name cut at the last hyphen, or its peer URL), and it is not healthy: its hex ID is recorded. None listed means it was removed already; a healthy one or two matches stop the run." },
  { id: 'cluster-version', title: "Read the cluster's K3s version and server flags", kind: 'check',
    verifies: "On the healthy server: `k3s --version` and the server flags of its unit. Cluster-wide flags go into the install; its node-specific flags (--node-name, --node-ip, ...), join flags and secrets are never copied." },
  { id: 'remove-stale-node', title: 'Remove the stale node and its etcd member', kind: 'change', irreversible: true,
    verifies: 'Read again: the member is no longer listed; the node object is gone (or registered again by its still-running kubelet, which the uninstall stops).' },
  { id: 'uninstall-k3s', title: 'Clean uninstall of K3s on the stale node', kind: 'change', irreversible: true,
    verifies: "Read again: no k3s binary, no k3s-uninstall.sh and no /var/lib/rancher/k3s on the node. The node's own /etc/rancher/k3s settings and unit were kept aside first." },
  { id: 'install-k3s', title: 'Fresh K3s install pinned to the cluster version, with the join token', kind: 'change',
    verifies: "Read through the healthy node: etcd lists a started, promoted member of the node and the node is Ready. A retry finds this run's install job and waits for it." },
  { id: 'wait-ready', title: 'Wait for the node to be Ready', kind: 'wait',
    verifies: '`kubectl get nodes` on the healthy node shows the node Ready=True, within `readyTimeoutSeconds`.' },
  { id: 'verify-etcd', title: 'etcd lists the new member started and every endpoint healthy', kind: 'check',
    verifies: 'Through the healthy node, within 2 min: the node has a started, promoted member under a new ID, the old ID is gone, and every member is healthy.' },
];

export async function k3sRejoin(rawInput: K3sRejoinInput): Promise<RunbookResult> {
  const input = checkRejoinInput(rawInput);
  const rb = new Runbook({
    name: 'k3s-rejoin',
    target: input.node,
    dryRun: input.dryRun,
    requestedBy: input.requestedBy,
    gateDeadline: input.gateDeadline,
    preApproved: input.preApproved,
    startSignature: input.startSignature,
    steps: K3S_REJOIN_STEPS,
  });

  return rb.run(async () => {
    const node = await rb.check('read-inventory', () => checks.describeK3sNode({ node: input.node }));

    if (node.gpuPassthrough) {
      let iommu = await rb.check('iommu', () => checks.countIommuGroups({ host: node.host }));
      if (iommu.groups > 0) rb.skip('enable-vtd', 'VT-d is on');
      while (iommu.groups === 0 && !input.dryRun) {
        const bootId = iommu.bootId;
        await rb.manual('enable-vtd', enableVtd(node), () => watchers.awaitHostReboot({ host: node.host, bootId }));
        iommu = await rb.check('iommu', () => checks.countIommuGroups({ host: node.host }));
      }
      if (iommu.groups === 0) await rb.manual('enable-vtd', enableVtd(node), async () => ({ evidence: [] }));
    } else {
      rb.skip('iommu', `${node.name} needs no GPU passthrough`);
      rb.skip('enable-vtd', `${node.name} needs no GPU passthrough`);
    }

    await rb.check('vm-running', () => polls.checkVmRunning({ host: node.host, vmid: node.vmid }));
    const cluster = await rb.check('cluster-health', () => checks.checkClusterHealth({ node: node.name }));
    const stale = await rb.check('stale-member', () => checks.identifyStaleMember({ node: node.name, healthyNode: cluster.healthyNode }));
    const k3s = await rb.check('cluster-version', () => checks.readClusterVersion({ healthyNode: cluster.healthyNode }));

    const healthyNode = cluster.healthyNode;

    await rb.change('remove-stale-node', { node: node.name, healthyNode, staleMemberId: stale.member?.id ?? null }, checks.planStaleNodeRemoval, changes.removeStaleNode);
    await rb.change('uninstall-k3s', { node: node.name }, checks.planUninstall, changes.uninstallK3s);
    await rb.change('install-k3s', { node: node.name, healthyNode, staleMemberName: stale.member?.name ?? null }, checks.planInstall, changes.installK3s);

    if (input.dryRun) {
      rb.skip('wait-ready', 'dry run');
      rb.skip('verify-etcd', 'dry run');
      return `dry run: ${node.name} can be rejoined to ${cluster.healthyNode}'s cluster at K3s ${k3s.version}; nothing was changed`;
    }
    await rb.wait('wait-ready', () =>
      proxyActivities<RunbookActivities>({
        startToCloseTimeout: `${input.readyTimeoutSeconds + 120}s`,
        heartbeatTimeout: '30s',
        retry,
      }).waitForNodeReady({ node: node.name, healthyNode: cluster.healthyNode, timeoutSeconds: input.readyTimeoutSeconds }),
    );
    const joined = await rb.check('verify-etcd', () =>
      polls.verifyRejoined({ node: node.name, healthyNode, oldMemberId: stale.member?.id ?? null }),
    );
    return `${node.name} rejoined the cluster as etcd member ${joined.memberId} at K3s ${k3s.version}`;
  });
}
