// `runbook report` of a program gathered through a real client (the CLI's RunSource: history, result,
// status query, the phases as child workflows) under the time-skipping test server: a 7-day soak with
// a failed check answered "go on", then Phase 2, whose 12h gate deadline ends the program expired.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { clientSource, gatherRun } from '../../src/report/gather';
import { renderMarkdown } from '../../src/report/markdown';
import { buildReport } from '../../src/report/model';
import { decideUpdate } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { gateOpen, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { DAY_MS, startTimeSkipping } from '../helpers/time-skipping';

const NODE = 'k3s-vm-still-fawn';

/** The program's soak check (the third one fails) and Phase 2 up to its first gate. */
function fakeProgram(): Partial<RunbookActivities> {
  let checks = 0;
  return {
    async checkNodeSoak({ node }) {
      checks += 1;
      return checks === 3 ? { healthy: false, evidence: ['unhealthy etcd: k3s-vm-still-fawn'] } : { healthy: true, evidence: [`${node} Ready=True; 4 etcd members all healthy`] };
    },
    async approvalPolicy() {
      return { approvers: ['alice', 'bob'], twoPersonIrreversible: false };
    },
    async notifyGate() {
      return { sent: true };
    },
    async describePbsMove() {
      return { from: 'pumped-piglet', to: 'still-fawn', storage: 'pbs-backup', datastore: 'homelab-backup', datastorePath: '/mnt/datastore/homelab-backup', pool: 'pbs-pool', diskSerial: 'WD-XYZ', toServer: '127.0.0.12', evidence: ['datastore homelab-backup on pumped-piglet'] };
    },
    async checkDatastoreHealthy() {
      return { evidence: ['datastore online'] } as never;
    },
    async checkBackupsRecentVerified() {
      return { snapshots: [], evidence: ['every guest backed up and verified'] };
    },
    async checkNoBackupRunning() {
      return { jobsToPause: ['backup-daily'], evidence: ['no vzdump task is running'] };
    },
    async planRelease() {
      const plan = { target: 'pumped-piglet', commands: ['pvesh set /cluster/backup/backup-daily --enabled 0'], facts: { disableJobs: 'backup-daily' }, digest: '0a1b2c3d4e5f' };
      return { plan, facts: { disableJobs: ['backup-daily'], setOffline: true, exportPool: true } };
    },
  };
}

describe('runbook report of a program under time skipping', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTimeSkipping();
  });
  after(async () => {
    await env?.teardown();
  });

  it('the soak day by day, the failed check and who said go on, then each phase in turn', async () => {
    const taskQueue = uniqueId('ts-report');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: fakeProgram() });
    const id = uniqueId('recovery-program');
    const md = await worker.runUntil(async () => {
      const h = await env.client.workflow.start('recoveryProgram', { taskQueue, workflowId: id, args: [{ node: NODE, startAt: 'soak', gateDeadline: '12h', requestedBy: 'alice' }] });
      await env.sleep('60h'); // the third check (day 2) fails and asks; that gate has a 12h deadline
      await waitForStatus(h, gateOpen('soak'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'soak', by: 'bob', decision: 'approve', comment: 'etcd leader election, settled' }] });
      const result = (await h.result()) as RunbookResult;
      assert.equal(result.outcome, 'expired', result.summary);
      // the report while the worker still answers queries (a closed run is replayed for them)
      return renderMarkdown(buildReport(await gatherRun(clientSource(env.client), id)));
    });
    // the worker is gone: no status query is answered, the history and result are enough
    const report = buildReport(await gatherRun(clientSource(env.client, { queryTimeoutMs: 1_000 }), id));
    assert.ok(report.sources.includes('no status: the status query failed: no worker answered within 1s'), JSON.stringify(report.sources));
    assert.ok(report.phases[1]!.report!.sources.some((x) => /no worker answered/.test(x)));
    assert.equal(report.state, 'expired');
    assert.equal(report.asked.requestedBy, 'alice');
    const soak = report.soaks.find((x) => x.step === 'soak')!;
    assert.equal(soak.checks.length, 8, 'soak 7d every 1d: day 0 to day 7');
    assert.deepEqual(soak.checks.map((c) => c.healthy), [true, true, false, true, true, true, true, true]);
    const days = soak.checks.map((c) => Date.parse(c.at));
    for (let i = 1; i < 3; i++) assert.ok(days[i]! - days[i - 1]! >= DAY_MS - 60_000, `check ${i + 1} a day after check ${i}`);
    assert.ok(days[7]! - days[0]! >= 7 * DAY_MS - 60_000, 'the last check at the end of the 7 days');
    assert.deepEqual(report.decisions.map((d) => [d.step, d.decision, d.by, d.comment]), [['soak', 'approve', 'bob', 'etcd leader election, settled']]);
    assert.ok(soak.notes.some((n) => /bob said go on after the failed check/.test(n)));

    assert.deepEqual(report.phases.map((p) => [p.step, p.state, !!p.report]), [
      ['rejoin', 'skipped', false],
      ['pbs-migration', 'rejected', true],
      ['frigate-migration', 'pending', false],
      ['lxc-retirement', 'pending', false],
    ]);
    const phase2 = report.phases[1]!.report!;
    assert.equal(phase2.workflowId, `${id}/pbs-migration`);
    assert.equal(phase2.state, 'expired');
    const release = phase2.changes.find((c) => c.step === 'release-datastore')!;
    assert.deepEqual(release.plan!.commands, ['pvesh set /cluster/backup/backup-daily --enabled 0']);
    assert.deepEqual(release.decisions, [], 'nobody decided: the gate expired');
    assert.ok(release.output.some((x) => /the gate expired at/.test(x)));
    assert.ok(release.gates[0]!.waitedMs! >= 12 * 3_600_000 - 60_000, 'the gate waited its 12h deadline');

    assert.match(md, /## Soak `soak`: done[\s\S]*\| 3 \| [^|]+ \| \*\*no\*\* \| unhealthy etcd: k3s-vm-still-fawn \|/);
    const order = ['### 1. `rejoin`', '### 2. `pbs-migration`', '### 3. `frigate-migration`', '### 4. `lxc-retirement`'].map((x) => md.indexOf(x));
    assert.ok(order.every((i, n) => i > 0 && (n === 0 || i > order[n - 1]!)), JSON.stringify(order));
    assert.match(md, /### 3\. `frigate-migration`[^\n]*\n\nNot started\./);
  });
});
