// The PBS migration's control flow on a real dev server with mocked activities: which steps wait
// at a gate, the manual disk move (done too early asks again), abort and rejection stop the changes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { approveSignal, decideUpdate, doneSignal, rejectSignal } from '../../src/workflows/runbook/messages';
import type { RunbookResult, StepPlan } from '../../src/workflows/runbook/types';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';

const CHANGES = ['releaseDatastore', 'importPool', 'registerDatastore', 'enableBackupJobs', 'removeOldDatastore'];

function fakeLab() {
  const calls: string[] = [];
  const world = { diskMoved: false };
  const ev = (e: string) => ({ evidence: [e] });
  const plan = (commands: string[]): StepPlan => ({ target: 'x', commands, facts: {}, digest: commands.join('').length.toString(16).padStart(12, '0') });
  const snaps = [{ type: 'vm', id: '105', time: '2024-06-01T10:00:00Z', verified: true }];
  const acts = {
    async approvalPolicy() {
      return { approvers: ['alice', 'bob', 'carol'], twoPersonIrreversible: false };
    },
    async notifyGate() {
      return { sent: true };
    },
    async describePbsMove() {
      calls.push('describePbsMove');
      return { from: 'pumped-piglet', to: 'still-fawn', storage: 's', datastore: 'd', datastorePath: '/p/d', pool: 'p', diskSerial: 'SER', toServer: '127.0.0.2', evidence: [] };
    },
    async checkDatastoreHealthy() { calls.push('checkDatastoreHealthy'); return { carry: { settings: {}, jobs: [], acls: [] }, evidence: ['ok'] }; },
    async checkBackupsRecentVerified() { calls.push('checkBackupsRecentVerified'); return { snapshots: snaps, evidence: [] }; },
    async checkNoBackupRunning() { calls.push('checkNoBackupRunning'); return { jobsToPause: ['job1'], evidence: [] }; },
    async planRelease() { calls.push('planRelease'); return { plan: plan(['zpool export p']), facts: { disableJobs: ['job1'], setOffline: true, exportPool: true } }; },
    async releaseDatastore() { calls.push('releaseDatastore'); return { disabledJobs: ['job1'], evidence: [] }; },
    async detectDisk() { calls.push('detectDisk'); return { found: world.diskMoved, byId: world.diskMoved ? 'ata-X_SER' : null, evidence: [] }; },
    async planImportPool() { calls.push('planImportPool'); return { plan: plan(['zpool import -d /dev/disk/by-id p']), facts: { importPool: true } }; },
    async importPool() { calls.push('importPool'); return ev('imported'); },
    async planRegister({ carry }: { carry?: unknown } = {}) {
      calls.push(`planRegister:${carry ? 'carry' : 'none'}`);
      return { plan: plan(['proxmox-backup-manager datastore create d /p/d --reuse-datastore true']), facts: { createDatastore: true, repoint: true, fingerprint: 'f', carry, storageBefore: {}, storageAcls: [], secretFiles: [] } };
    },
    async registerDatastore() { calls.push('registerDatastore'); return ev('registered'); },
    async verifySnapshotsMatch({ before }: { before: unknown[] }) { calls.push(`verifySnapshotsMatch:${before.length}`); return ev('same'); },
    async planEnableJobs({ jobs }: { jobs: string[] }) { calls.push(`planEnableJobs:${jobs.join(',')}`); return { plan: plan(['pvesh set /cluster/backup/job1 --enabled 1']), facts: { enableJobs: jobs } }; },
    async enableBackupJobs() { calls.push('enableBackupJobs'); return ev('enabled'); },
    async planRemoveOldDatastore() { calls.push('planRemoveOldDatastore'); return { plan: plan(['proxmox-backup-manager datastore remove d']), facts: { removeDatastore: true } }; },
    async removeOldDatastore() { calls.push('removeOldDatastore'); return ev('removed'); },
  };
  return { calls, world, acts };
}

describe('pbs migration workflow with mocked activities', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  async function run<T>(acts: object, fn: (start: (input: object) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: object) => env.client.workflow.start('pbsMigration', { taskQueue, workflowId: uniqueId('pbs'), args: [input] });
    return worker.runUntil(fn(start));
  }

  it('gates release, register and cleanup; the move waits for `done` and asks again until the disk shows up', async () => {
    const lab = fakeLab();
    const result = await run(lab.acts, async (start) => {
      const h = await start({});
      await waitForStatus(h, gateOpen('release-datastore'));
      assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), []);
      await h.signal(approveSignal, { step: 'release-datastore', by: 'alice' });
      await waitForStatus(h, gateOpen('move-disk'));
      await h.signal(doneSignal, { step: 'move-disk', by: 'bob' });
      await waitForStatus(h, (s) => s.openGate?.step === 'move-disk' && lab.calls.includes('detectDisk'));
      lab.world.diskMoved = true;
      await h.executeUpdate(decideUpdate, { args: [{ step: 'move-disk', by: 'bob', decision: 'done' }] });
      await waitForStatus(h, gateOpen('register-datastore'));
      assert.ok(lab.calls.includes('importPool'), 'the import needs no gate of its own');
      await h.executeUpdate(decideUpdate, { args: [{ step: 'register-datastore', by: 'carol', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('remove-old-datastore'));
      await h.signal(approveSignal, { step: 'remove-old-datastore', by: 'alice' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed', result.summary);
    assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), CHANGES);
    assert.ok(lab.calls.includes('verifySnapshotsMatch:1') && lab.calls.includes('planEnableJobs:job1'), lab.calls.join(' '));
    assert.ok(lab.calls.includes('planRegister:carry'), 'the registration gets what the preflight read on the old host');
    assert.equal(lab.calls.filter((c) => c === 'detectDisk').length, 2);
    const by = Object.fromEntries(result.approvals.map((a) => [a.step, a.by]));
    assert.match(by['import-pool']!, /^no gate: importing/);
    assert.match(by['enable-backup-jobs']!, /^no gate: it only re-enables/);
  });

  it('abort at the disk move: nothing after the release runs', async () => {
    const lab = fakeLab();
    const result = await run(lab.acts, async (start) => {
      const h = await start({ preApproved: ['release-datastore'] });
      await waitForStatus(h, gateOpen('move-disk'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'move-disk', by: 'bob', decision: 'abort' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'aborted');
    assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), ['releaseDatastore']);
  });

  it('a rejected registration stops before it; a dry run changes nothing and plans every change', async () => {
    const lab = fakeLab();
    lab.world.diskMoved = true;
    const rejected = await run(lab.acts, async (start) => {
      const h = await start({ preApproved: ['release-datastore'] });
      await waitForStatus(h, gateOpen('move-disk'));
      await h.signal(doneSignal, { step: 'move-disk', by: 'bob' });
      await waitForStatus(h, gateOpen('register-datastore'));
      await h.signal(rejectSignal, { step: 'register-datastore', by: 'carol' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(rejected.outcome, 'rejected');
    assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), ['releaseDatastore', 'importPool']);

    const dry = fakeLab();
    const plan = await run(dry.acts, async (start) => ((await (await start({ dryRun: true })).result()) as RunbookResult));
    assert.equal(plan.outcome, 'dry-run');
    assert.deepEqual(dry.calls.filter((c) => CHANGES.includes(c)), []);
    assert.deepEqual(plan.plan?.map((p) => p.step), ['release-datastore', 'import-pool', 'register-datastore', 'enable-backup-jobs', 'remove-old-datastore']);
  });

  it('refuses bad input before any step', async () => {
    const lab = fakeLab();
    await run(lab.acts, async (start) => {
      await assert.rejects((await start({ preApproved: ['rm -rf'] })).result());
      await assert.rejects((await start({ node: 'x' })).result());
    });
    assert.deepEqual(lab.calls, []);
  });
});
