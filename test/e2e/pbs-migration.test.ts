// Phase 2 end to end: the real dev server, worker and exec layer against the lab's sshd and the PBS,
// pvesm, pvesh and zpool stand-ins. Read-only runs first (dry run, preflight failures), then the move.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { recordHistory } from '../helpers/histories';
import { gateOpen, historyText, waitForStatus } from '../helpers/temporal';
import { send, decide } from '../helpers/decide';
import { abortAtFailure, atFailedGate } from '../helpers/failed-gate';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { PBS_DATASTORE, PBS_DATASTORE_PATH, PBS_DISK, PBS_STORAGE } from '../../lab/src/pbs';

describe('pbs migration on the lab', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ staleNode: false });
  });
  after(async () => {
    await s?.stop();
  });

  const changes = () => s.lab.audit().filter((e) => e.change);
  const password = () => fs.readFileSync(path.join(s.lab.dir, 'pve', 'priv', 'storage', `${PBS_STORAGE}.pw`), 'utf8').trim();

  it('a dry run runs every check, changes nothing and returns the whole plan', async () => {
    const h = await s.start('pbsMigration', { dryRun: true });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'dry-run', result.summary);
    assert.deepEqual(result.plan?.map((p) => p.step), ['release-datastore', 'import-pool', 'register-datastore', 'enable-backup-jobs', 'remove-old-datastore']);
    const all = result.plan!.flatMap((p) => p.commands).join('\n');
    assert.match(all, /pvesh set \/cluster\/backup\/backup-5d0d5ac6-1c2e --enabled 0/);
    assert.doesNotMatch(all, /backup-9a1f3e77-40b1/, 'a job writing elsewhere is left alone');
    assert.match(all, /proxmox-backup-manager datastore update homelab-backup --maintenance-mode offline/);
    assert.match(all, /zpool export pbs-hdd/);
    assert.match(all, /zpool import -d \/dev\/disk\/by-id pbs-hdd/);
    assert.match(all, /datastore create homelab-backup \/pbs-hdd\/datastore --comment '3 TB HDD \(ZFS pool pbs-hdd\)' --reuse-datastore true/, 'created with the old settings');
    assert.doesNotMatch(all, /pvesm (remove|add)/, 'the storage is edited in place, never removed and re-added');
    assert.match(all, /mkdir \/etc\/pve\/priv\/lock\/file-storage_cfg/);
    assert.ok(all.includes(`-v fp=${s.lab.pbs.fingerprint('still-fawn')}`), 'the new host fingerprint is in the plan');
    assert.ok(all.includes(`-v server=${s.lab.info.hosts['still-fawn']!.address}`));
    assert.ok(!all.includes(password()), 'the storage password is not in the plan');
    assert.deepEqual(changes(), []);
  });

  it('a verify-failed backup stops the run at the preflight, before any change', async () => {
    s.lab.pbs.setVerifyState('ct', '113', 'failed');
    try {
      const h = await s.start('pbsMigration', {});
      const { status: st } = await atFailedGate(h);
      assert.equal(st.openGate?.step, 'backups-verified');
      assert.match(st.steps.find((x) => x.id === 'backups-verified')!.error ?? '', /ct\/113's last backup .* is not verified/);
      assert.equal(st.steps.find((x) => x.id === 'release-datastore')!.state, 'pending');
      assert.equal((await abortAtFailure(s.lab, h, 'backups-verified')).outcome, 'aborted');
    } finally {
      s.lab.pbs.setVerifyState('ct', '113', 'ok');
    }
    assert.deepEqual(changes(), [], 'no change command ran');
  });

  it('a running backup job stops the run before any change', async () => {
    s.lab.pbs.runningBackupJob(true);
    try {
      const h = await s.start('pbsMigration', {});
      const { status: st } = await atFailedGate(h);
      assert.equal(st.openGate?.step, 'no-backup-running');
      assert.match(st.steps.find((x) => x.id === 'no-backup-running')!.error ?? '', /a backup is running: UPID:pumped-piglet:/);
      assert.equal((await abortAtFailure(s.lab, h, 'no-backup-running')).outcome, 'aborted');
    } finally {
      s.lab.pbs.runningBackupJob(false);
    }
    assert.deepEqual(changes(), []);
  });

  it('moves the datastore: approvals and the manual step by signal and update, same snapshots after', async () => {
    const snapshotsBefore = s.lab.pbs.snapshots();
    assert.ok(snapshotsBefore.length >= 10, JSON.stringify(snapshotsBefore));
    const pw = password();
    const h = await s.start('pbsMigration', { requestedBy: 'dave' });

    await waitForStatus(h, gateOpen('release-datastore'), 120_000);
    await send(s.lab, h, 'approve', { step: 'release-datastore', by: 'alice', comment: 'from the UI' });
    await waitForStatus(h, gateOpen('move-disk'), 120_000);
    assert.equal(s.lab.pbs.disk().pool?.importedOn, null, 'the pool is exported before the operator is asked');
    assert.ok(s.lab.pbs.backupJobs().find((j) => j.storage === PBS_STORAGE && !j.enabled), 'the job is disabled');

    // `done` too early: still-fawn has no such disk, so the step asks again
    await decide(s.lab, h, 'done', { step: 'move-disk', by: 'bob' });
    await waitForStatus(
      h,
      (x) => x.openGate?.step === 'move-disk' && (x.steps.find((st) => st.id === 'detect-disk')?.evidence.some((e) => /no disk with serial/.test(e)) ?? false),
      120_000,
    );
    s.lab.pbs.moveDisk(PBS_DISK, 'still-fawn');
    await send(s.lab, h, 'done', { step: 'move-disk', by: 'bob', comment: 'disk in bay 2' });

    await waitForStatus(h, gateOpen('register-datastore'), 120_000);
    await decide(s.lab, h, 'approve', { step: 'register-datastore', by: 'carol' });
    await waitForStatus(h, gateOpen('remove-old-datastore'), 120_000);
    await send(s.lab, h, 'approve', { step: 'remove-old-datastore', by: 'alice' });
    const result = (await h.result()) as RunbookResult;
    await recordHistory('pbs-migration-complete', h);
    assert.equal(result.outcome, 'completed', result.summary);

    // the lab after: datastore on still-fawn with the same snapshots, PVE storage pointing at it
    assert.deepEqual(s.lab.pbs.datastores('still-fawn').map((d) => [d.name, d.path]), [[PBS_DATASTORE, PBS_DATASTORE_PATH]]);
    assert.deepEqual(s.lab.pbs.datastores('pumped-piglet'), []);
    const storage = s.lab.pbs.storage()!;
    assert.equal(storage.props.server, s.lab.info.hosts['still-fawn']!.address);
    assert.equal(storage.props.fingerprint, s.lab.pbs.fingerprint('still-fawn'));
    assert.equal(storage.host, 'still-fawn');
    assert.ok(storage.hasPassword, 'the password file is back');
    assert.equal(password(), pw, 'the same password');
    assert.ok(!fs.existsSync(path.join(s.lab.dir, 'pve', 'priv', 'storage', `${PBS_STORAGE}.pw.pbs-migration`)), 'the kept copy is gone');
    assert.deepEqual(s.lab.pbs.snapshots(), snapshotsBefore);
    assert.ok(s.lab.pbs.backupJobs().every((j) => j.enabled), JSON.stringify(s.lab.pbs.backupJobs()));
    assert.deepEqual({ at: s.lab.pbs.disk().attachedTo, imported: s.lab.pbs.disk().pool?.importedOn }, { at: 'still-fawn', imported: 'still-fawn' });

    // each destructive command ran exactly once; the password never reached the audit log or the history
    const count = (tool: string, sub: string) => changes().filter((e) => e.tool === tool && e.argv[0] === sub).length;
    assert.equal(count('zpool', 'export'), 1);
    assert.equal(count('zpool', 'import'), 1);
    assert.equal(count('pvesm', 'remove'), 0);
    assert.equal(count('pvesm', 'add'), 0);
    assert.equal(count('proxmox-backup-manager', 'datastore'), 3, 'offline, create, remove');
    assert.ok(!JSON.stringify(s.lab.audit()).includes(pw));
    const history = historyText(await h.fetchHistory());
    assert.ok(!history.includes(pw), 'the storage password is not in the history');
    const via = result.approvals.map((a) => `${a.step}:${a.by}:${a.via}`);
    assert.ok(via.includes('release-datastore:alice:signal') && via.includes('register-datastore:carol:update'), via.join(' '));
    assert.ok(via.includes('move-disk:bob:update') && via.includes('move-disk:bob:signal'), via.join(' '));
  });
});
