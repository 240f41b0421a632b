// A pretend homelab for the rejoin's activities: mocked activities that read and change a small
// world, with a log of every call (unit tests of workflow logic; e2e tests use the real lab).
import { heartbeat, sleep } from '@temporalio/activity';
import type { RunbookActivities } from '../../src/activities';
import type { GateNotice } from '../../src/workflows/runbook/types';

/** A pretend homelab the mocked activities read and change, plus a log of every call. */
/** A plan whose digest is a hash of its commands, as the real preflights make it. */
export function fakePlan(commands: string[]) {
  let h = 0;
  for (const ch of commands.join('\n')) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return { target: 'k3s-vm-pumped-piglet VM 105', commands, facts: { commands: String(commands.length) }, digest: h.toString(16).padStart(8, '0') };
}

export function fakeLab(opts: { iommuGroups?: number; twoPerson?: boolean; reminderMs?: number } = {}) {
  const calls: string[] = [];
  const notices: GateNotice[] = [];
  const world = { iommuGroups: opts.iommuGroups ?? 12, rebooted: false, memberListed: true, installed: 'old' as 'old' | 'none' | 'new' };
  const ev = (line: string) => ({ evidence: [line] });
  const acts: Partial<RunbookActivities> = {
    async describeK3sNode({ node }) {
      calls.push('describeK3sNode');
      return { name: node, host: 'still-fawn', vmid: 108, address: '127.0.0.12', gpuPassthrough: true, approvers: ['alice', 'bob'], peers: ['k3s-vm-pumped-piglet'], evidence: [] };
    },
    async countIommuGroups() {
      calls.push('countIommuGroups');
      return { groups: world.iommuGroups, bootId: world.rebooted ? 'boot-2' : 'boot-1', evidence: [`${world.iommuGroups} groups`] };
    },
    async awaitHostReboot() {
      calls.push('awaitHostReboot');
      // heartbeats like the real one, so the abort's cancellation reaches it
      while (!world.rebooted) {
        heartbeat();
        await sleep(100);
      }
      return { bootId: 'boot-2', evidence: ['rebooted'] };
    },
    async checkVmRunning() {
      calls.push('checkVmRunning');
      return ev('running');
    },
    async checkClusterHealth() {
      calls.push('checkClusterHealth');
      const q = { members: 4, quorum: 3, healthy: 3 };
      return { healthyNode: 'k3s-vm-pumped-piglet', before: q, after: { members: 3, quorum: 2, healthy: 3 }, evidence: [] };
    },
    async identifyStaleMember() {
      calls.push('identifyStaleMember');
      return { member: { id: '1f57491286ac4c3', name: 'k3s-vm-still-fawn-0a1b2c3d', peerURL: 'https://127.0.0.12:2380' }, evidence: [] };
    },
    async readClusterVersion() {
      calls.push('readClusterVersion');
      return { version: 'v1.32.5+k3s1', serverFlags: ['--disable', 'servicelb'], evidence: [] };
    },
    async planStaleNodeRemoval() {
      calls.push('planStaleNodeRemoval');
      const facts = { node: 'k3s-vm-still-fawn', healthyNode: 'k3s-vm-pumped-piglet', deleteNode: true, removeMemberId: world.memberListed ? '1f57491286ac4c3' : null };
      return { plan: fakePlan(['kubectl delete node k3s-vm-still-fawn', ...(world.memberListed ? ['etcdctl member remove 1f57491286ac4c3'] : [])]), facts };
    },
    async planUninstall() {
      calls.push('planUninstall');
      return { plan: fakePlan(['k3s-uninstall.sh']), facts: { node: 'k3s-vm-still-fawn', installed: true } };
    },
    async planInstall() {
      calls.push('planInstall');
      const facts = { node: 'k3s-vm-still-fawn', healthyNode: 'k3s-vm-pumped-piglet', staleMemberName: 'x', version: 'v1.32.5+k3s1', serverFlags: [] };
      return { plan: fakePlan(['K3S_TOKEN=*** sh']), facts };
    },
    async approvalPolicy() {
      return { approvers: ['alice', 'bob', 'carol'], twoPersonIrreversible: opts.twoPerson ?? false, reminderMs: opts.reminderMs };
    },
    async notifyGate(notice) {
      notices.push(notice);
      return { sent: true };
    },
    async removeStaleNode() {
      calls.push('removeStaleNode');
      world.memberListed = false;
      return ev('removed');
    },
    async uninstallK3s() {
      calls.push('uninstallK3s');
      world.installed = 'none';
      return ev('uninstalled');
    },
    async installK3s() {
      calls.push('installK3s');
      world.installed = 'new';
      return ev('installed');
    },
    async waitForNodeReady() {
      calls.push('waitForNodeReady');
      return ev('Ready');
    },
    async verifyRejoined() {
      calls.push('verifyRejoined');
      return { memberId: 'abc', evidence: [] };
    },
  };
  return { acts, calls, world, notices };
}

/** The rejoin's change activities, in order. */
export const CHANGES = ['removeStaleNode', 'uninstallK3s', 'installK3s'];
