// A pretend Frigate LXC for Phase 4 (lxcRetirement) with mocked activities: the CT's state, its PBS
// archives and the new Frigate's health. Every call records the server time it was scheduled at, so
// time-skipping tests can assert how much (skipped) time passed between steps.
import assert from 'node:assert/strict';
import { activityInfo } from '@temporalio/activity';
import type { RunbookActivities } from '../../src/activities';
import type { GateNotice } from '../../src/workflows/runbook/types';

export type CtState = 'running' | 'stopped' | 'gone';
export const CT = { host: 'still-fawn', ctid: 113, storage: 'pbs-backup', pbsHost: 'fun-bedbug' };
export const LXC_CHANGES = ['backupCt', 'stopCt', 'destroyCt'];

function fakePlan(commands: string[], facts: Record<string, string>) {
  return { target: `${CT.host} (host)`, commands, facts, digest: commands.join('|').length.toString(16).padStart(8, '0') };
}

/** A pretend CT, its PBS archives and the new Frigate; every call records the server time it was scheduled at. */
export function fakeLxcWorld(opts: { unhealthyChecks?: number[]; twoPerson?: boolean } = {}) {
  const world = { state: 'running' as CtState, archives: [] as { type: string; id: string; time: string; verified: boolean }[] };
  const calls: { name: string; at: number }[] = [];
  const notices: GateNotice[] = [];
  const call = (name: string) => calls.push({ name, at: activityInfo().scheduledTimestampMs });
  /** The archive of a backup taken since `notBefore`, if any. */
  const archiveSince = (notBefore: string) => {
    const existing = world.archives.find((s) => Date.parse(s.time) >= Date.parse(notBefore));
    return existing ? `ct/113/${existing.time}` : null;
  };
  const acts: Partial<RunbookActivities> = {
    async describeFrigateLxc() {
      call('describeFrigateLxc');
      return { ...CT, evidence: [] };
    },
    async readCtState() {
      call('readCtState');
      return { state: world.state, hostname: world.state === 'gone' ? null : 'frigate', evidence: [`CT 113 is ${world.state}`] };
    },
    async checkFrigateHealth() {
      call('checkFrigateHealth');
      const n = calls.filter((c) => c.name === 'checkFrigateHealth').length;
      const healthy = !opts.unhealthyChecks?.includes(n);
      return { healthy, evidence: [healthy ? 'every camera above 0 fps' : 'camera driveway at 0 fps'] };
    },
    async planBackup(a) {
      call('planBackup');
      const key = archiveSince(a.notBefore);
      return { plan: fakePlan(key ? ['# already backed up'] : ['vzdump 113 --storage pbs-backup --mode snapshot'], { existing: key ?? 'none' }), facts: { ...a, existing: key } };
    },
    // a change activity gets the preflight's args and re-reads the state itself, as the real one does
    async backupCt({ args }) {
      call('backupCt');
      const existing = archiveSince(args.notBefore);
      if (existing) return { archive: existing, evidence: ['already backed up'] };
      const time = new Date(activityInfo().scheduledTimestampMs).toISOString().replace(/\.\d+Z$/, 'Z');
      world.archives.push({ type: 'ct', id: '113', time, verified: false });
      return { archive: `ct/113/${time}`, evidence: ['backed up'] };
    },
    async listBackupSnapshots() {
      call('listBackupSnapshots');
      return { snapshots: world.archives, evidence: [`${world.archives.length} snapshots`] };
    },
    async planStopCt({ host, ctid }) {
      call('planStopCt');
      return { plan: fakePlan(world.state === 'running' ? ['pct stop 113'] : ['# already stopped'], { state: world.state }), facts: { host, ctid, state: world.state } };
    },
    async stopCt() {
      call('stopCt');
      if (world.state === 'running') world.state = 'stopped';
      return { evidence: ['pct stop 113 → ok'] };
    },
    async planDestroyCt(a) {
      call('planDestroyCt');
      const last = world.archives[world.archives.length - 1];
      const archive = last ? `ct/113/${last.time}` : null;
      return { plan: fakePlan(['pct destroy 113 --purge 1'], { state: world.state, archive: archive ?? 'none' }), facts: { host: a.host, ctid: a.ctid, pbsHost: a.pbsHost, state: world.state, archive } };
    },
    async destroyCt() {
      call('destroyCt');
      assert.equal(world.state, 'stopped', 'only a stopped CT is destroyed');
      world.state = 'gone';
      return { evidence: ['pct destroy 113 --purge 1 → ok'] };
    },
    async approvalPolicy() {
      return { approvers: ['alice', 'bob', 'carol'], twoPersonIrreversible: opts.twoPerson ?? false };
    },
    async notifyGate(notice) {
      notices.push(notice);
      return { sent: true };
    },
  };
  const at = (name: string) => calls.filter((c) => c.name === name).map((c) => c.at);
  return { acts, world, calls, notices, at };
}
