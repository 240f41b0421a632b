// Phase 2 against what the real tools do besides their main job (issue 10 items 1, 7, 8):
// `pvesm remove` deletes a PBS storage's password, encryption key, master pubkey and ACLs;
// `proxmox-backup-manager datastore remove` deletes the store's jobs and ACLs; `--reuse-datastore`
// does not exist before PBS 3.3. The lab's stand-ins do the same, so the runbook must carry all of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../helpers/stack';
import { startStack } from '../helpers/stack';
import { abortAtFailure, atFailedGate } from '../helpers/failed-gate';
import { gateOpen, historyText, waitForStatus } from '../helpers/temporal';
import { send } from '../helpers/decide';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { PBS_DATASTORE, PBS_DISK, PBS_FROM, PBS_STORAGE, PBS_TO, type PbsJobKind } from '../../lab/src/pbs';

const ENC_KEY = JSON.stringify({ kdf: null, created: '2025-03-01T10:00:00+01:00', modified: '2025-03-01T10:00:00+01:00', data: 'q0n3cmVhbGx5IGEga2V5', fingerprint: '7a:1c:5e:9d:03:b2:44:f1:8e:6a:2d:90:cc:17:5b:e3:01:fa:72:4c:88:d9:36:0b:5e:a4:19:c7:e2:63:8f:d5' });
const MASTER_PEM = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlabmasterkey\n-----END PUBLIC KEY-----\n';
const STORAGE_ACL_PATH = `/storage/${PBS_STORAGE}`;

describe('pbs migration keeps what the real tools would delete', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ staleNode: false });
  });
  after(async () => {
    await s?.stop();
  });
  const changes = () => s.lab.audit().filter((e) => e.change);

  it('an older PBS on the new host (no --reuse-datastore) stops the run in the preflight, before any change', async () => {
    s.lab.pbs.setPbsVersion(PBS_TO, '3.2.4-1');
    try {
      const h = await s.start('pbsMigration', {});
      const st = await waitForStatus(h, (x) => x.steps.some((step) => step.state === 'failed') || x.openGate?.step === 'release-datastore', 120_000);
      assert.notEqual(st.openGate?.step, 'release-datastore', 'the run reached the release gate: it would export the pool and then fail to register the datastore');
      const failed = st.steps.find((x) => x.state === 'failed')!;
      assert.equal(failed.id, 'datastore-healthy');
      assert.match(failed.error ?? '', /3\.2\.4.*--reuse-datastore/);
      await atFailedGate(h);
      assert.equal((await abortAtFailure(s.lab, h, 'datastore-healthy')).outcome, 'aborted');
    } finally {
      s.lab.pbs.setPbsVersion(PBS_TO, '4.0.14-1');
    }
    assert.deepEqual(changes(), [], 'no change command ran');
  });

  it('a tape backup job of the datastore stops the run in the preflight (its drive stays, the removal would delete it)', async () => {
    s.lab.pbs.addPbsJob(PBS_FROM, 'tape', { id: 't-weekly', store: PBS_DATASTORE, pool: 'offsite-tapes', drive: 'lto8', schedule: 'sun 02:00' });
    try {
      const h = await s.start('pbsMigration', {});
      const st = await waitForStatus(h, (x) => x.steps.some((step) => step.state === 'failed') || x.openGate?.step === 'release-datastore', 120_000);
      assert.notEqual(st.openGate?.step, 'release-datastore', 'the run reached the release gate: the tape job would be deleted with the old datastore entry');
      const failed = st.steps.find((x) => x.state === 'failed')!;
      assert.equal(failed.id, 'datastore-healthy');
      assert.match(failed.error ?? '', /tape backup job t-weekly \(drive lto8, pool offsite-tapes\)/);
      await atFailedGate(h);
      assert.equal((await abortAtFailure(s.lab, h, 'datastore-healthy')).outcome, 'aborted');
    } finally {
      s.lab.pbs.removePbsJob(PBS_FROM, 'tape', 't-weekly');
    }
    assert.deepEqual(changes(), [], 'no change command ran');
  });

  it('moves an encrypted storage with namespace and ACLs, and the datastore with its jobs, settings and ACLs', async () => {
    // the PVE storage as an operator set it up: encrypted, a namespace, node list, retention, ACLs
    s.lab.pbs.setStorageOptions({
      namespace: 'homelab', nodes: 'pumped-piglet,still-fawn', 'max-protected-backups': '5', 'prune-backups': 'keep-all=1',
      'encryption-key': JSON.parse(ENC_KEY).fingerprint, 'master-pubkey': '1',
    });
    s.lab.pbs.writeStorageSecret('enc', `${ENC_KEY}\n`);
    s.lab.pbs.writeStorageSecret('master', MASTER_PEM);
    s.lab.pbs.addPveAcl({ path: STORAGE_ACL_PATH, type: 'group', ugid: 'backup-ops', roleid: 'PVEDatastoreUser', propagate: 1 });
    s.lab.pbs.addPveAcl({ path: STORAGE_ACL_PATH, type: 'user', ugid: 'dave@pve', roleid: 'PVEDatastoreAdmin', propagate: 0 });
    s.lab.pbs.addPveAcl({ path: '/vms/105', type: 'user', ugid: 'dave@pve', roleid: 'PVEVMUser', propagate: 1 });
    // the datastore on the old host: gc schedule, notify settings, verify/prune/sync jobs, an ACL
    s.lab.pbs.updateDatastore(PBS_FROM, PBS_DATASTORE, { 'gc-schedule': 'sat 03:00', notify: 'gc=error,verify=always', 'notification-mode': 'notification-system', 'verify-new': 'true' });
    s.lab.pbs.addPbsJob(PBS_FROM, 'verify', { id: 'v-3fb3a', store: PBS_DATASTORE, schedule: 'daily', 'ignore-verified': 'true', 'outdated-after': '30' });
    s.lab.pbs.addPbsJob(PBS_FROM, 'prune', { id: 'p-homelab', store: PBS_DATASTORE, schedule: 'daily', 'keep-daily': '7', 'keep-weekly': '4' });
    for (const h of [PBS_FROM, PBS_TO]) s.lab.pbs.addRemote(h, { name: 'offsite', host: 'offsite.lab', 'auth-id': 'sync@pbs' });
    s.lab.pbs.addPbsJob(PBS_FROM, 'sync', { id: 's-offsite', store: PBS_DATASTORE, remote: 'offsite', 'remote-store': 'homelab-copy', schedule: 'hourly' });
    s.lab.pbs.addPbsAcl(PBS_FROM, { path: `/datastore/${PBS_DATASTORE}`, ugid: 'pve-sync@pbs', ugid_type: 'user', roleid: 'DatastoreBackup', propagate: true });

    const storageBefore = s.lab.pbs.storage()!;
    const password = s.lab.pbs.password();
    const aclsBefore = s.lab.pbs.pveAcls().filter((a) => a.path === STORAGE_ACL_PATH);
    const jobsBefore = s.lab.pbs.pbsJobs(PBS_FROM);
    const settingsBefore = s.lab.pbs.datastores(PBS_FROM).find((d) => d.name === PBS_DATASTORE)!;
    const pbsAclsBefore = s.lab.pbs.pbsAcls(PBS_FROM);

    // the plan names what the move carries
    const dry = (await (await s.start('pbsMigration', { dryRun: true })).result()) as RunbookResult;
    assert.equal(dry.outcome, 'dry-run', dry.summary);
    const register = dry.plan!.find((p) => p.step === 'register-datastore')!.commands.join('\n');
    assert.match(register, /verify-job create v-3fb3a/);
    assert.match(register, /prune-job create p-homelab/);
    assert.match(register, /sync-job create s-offsite/);
    assert.match(register, /acl update \/datastore\/homelab-backup DatastoreBackup --auth-id pve-sync@pbs/);
    assert.match(register, /--gc-schedule 'sat 03:00'/);
    assert.doesNotMatch(register, /pvesm remove/, 'the storage is never removed');
    assert.deepEqual(changes(), []);

    const h = await s.start('pbsMigration', { requestedBy: 'dave' });
    await waitForStatus(h, gateOpen('release-datastore'), 120_000);
    await send(s.lab, h, 'approve', { step: 'release-datastore', by: 'alice' });
    await waitForStatus(h, gateOpen('move-disk'), 120_000);
    s.lab.pbs.moveDisk(PBS_DISK, PBS_TO);
    await send(s.lab, h, 'done', { step: 'move-disk', by: 'bob' });
    const st: RunbookStatus = await waitForStatus(h, (x) => x.openGate?.step === 'register-datastore' || x.steps.some((step) => step.state === 'failed'), 120_000);
    assert.equal(st.openGate?.step, 'register-datastore', JSON.stringify(st.steps.filter((x) => x.state === 'failed')));
    await send(s.lab, h, 'approve', { step: 'register-datastore', by: 'carol' });
    const st2 = await waitForStatus(h, (x) => x.openGate?.step === 'remove-old-datastore' || x.steps.some((step) => step.state === 'failed'), 120_000);
    assert.equal(st2.openGate?.step, 'remove-old-datastore', JSON.stringify(st2.steps.filter((x) => x.state === 'failed')));
    await send(s.lab, h, 'approve', { step: 'remove-old-datastore', by: 'alice' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'completed', result.summary);

    // PVE storage: every option of the old entry, only server and fingerprint changed; secrets and ACLs kept
    const storage = s.lab.pbs.storage()!;
    const { server: _s, fingerprint: _f, ...optionsBefore } = storageBefore.props;
    const { server, fingerprint, ...optionsAfter } = storage.props;
    assert.deepEqual(optionsAfter, optionsBefore);
    assert.equal(server, s.lab.info.hosts[PBS_TO]!.address);
    assert.equal(fingerprint, s.lab.pbs.fingerprint(PBS_TO));
    assert.equal(storage.host, PBS_TO);
    assert.equal(s.lab.pbs.password(), password, 'the same password');
    assert.equal(s.lab.pbs.storageSecret('enc'), `${ENC_KEY}\n`, 'the encryption key is kept');
    assert.equal(s.lab.pbs.storageSecret('master'), MASTER_PEM, 'the master pubkey is kept');
    assert.deepEqual(s.lab.pbs.pveAcls().filter((a) => a.path === STORAGE_ACL_PATH), aclsBefore, 'the storage ACLs are kept');
    assert.equal(changes().filter((e) => e.tool === 'pvesm' && e.argv[0] === 'remove').length, 0, 'pvesm remove never ran');
    assert.ok(!fs.existsSync(path.join(s.lab.dir, 'pve', 'priv', 'lock', 'file-storage_cfg')), 'the storage.cfg lock is released');
    assert.deepEqual(fs.readdirSync(path.join(s.lab.dir, 'pve')).filter((f) => f.includes('.tmp')), [], 'no temporary storage.cfg left');

    // PBS: the datastore on the new host has the old settings, jobs and ACLs
    const moved = s.lab.pbs.datastores(PBS_TO).find((d) => d.name === PBS_DATASTORE)!;
    for (const k of ['gc-schedule', 'notify', 'notification-mode', 'verify-new', 'comment'] as const) {
      assert.equal((moved as Record<string, string>)[k], (settingsBefore as Record<string, string>)[k], k);
    }
    const jobsAfter = s.lab.pbs.pbsJobs(PBS_TO);
    for (const kind of ['verify', 'prune', 'sync'] as PbsJobKind[]) assert.deepEqual(jobsAfter[kind], jobsBefore[kind], `${kind} jobs`);
    assert.deepEqual(s.lab.pbs.pbsAcls(PBS_TO), pbsAclsBefore);
    assert.deepEqual(s.lab.pbs.datastores(PBS_FROM), []);

    // the key and the password stay on the host: not in the history, not in any argv
    const keyData = JSON.parse(ENC_KEY).data as string;
    const history = historyText(await h.fetchHistory());
    for (const secret of [keyData, password!]) {
      assert.ok(!history.includes(secret), 'a storage secret is in the history');
      assert.ok(!JSON.stringify(s.lab.audit()).includes(secret), 'a storage secret reached an argv');
    }
  });
});
