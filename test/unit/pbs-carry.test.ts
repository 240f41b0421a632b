// What a datastore carries to the new host (settings, jobs, ACLs) and how the read-back compares it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aclsMissing, aclsOf, datastoreSettings, jobsDiff, settingsDiff } from '../../src/activities/pbs/carry';
import { cliArgs, jobCreate, pbsAclUpdate } from '../../src/activities/pbs/commands';

const acl = (path: string, ugid = 'pve-sync@pbs') => ({ path, ugid, ugidType: 'user', roleid: 'DatastoreBackup', propagate: true });

describe('datastore carry', () => {
  it('keeps every setting but the maintenance mode, and the ACL subtree of the store only', () => {
    assert.deepEqual(datastoreSettings({ comment: 'c', 'gc-schedule': 'sat 03:00', 'maintenance-mode': 'type=offline' }), { comment: 'c', 'gc-schedule': 'sat 03:00' });
    const all = [acl('/datastore/s'), acl('/datastore/s/ns1'), acl('/datastore/s2'), acl('/')];
    assert.deepEqual(aclsOf(all, 's').map((a) => a.path), ['/datastore/s', '/datastore/s/ns1']);
  });

  it('reports settings that differ, ignoring legacy prune options (create turns them into a prune job)', () => {
    assert.deepEqual(settingsDiff({ 'gc-schedule': 'daily', 'keep-daily': '7' }, {}), ['gc-schedule: want "daily", have null']);
    assert.deepEqual(settingsDiff({ notify: 'gc=error' }, { notify: 'gc=error' }), []);
  });

  it('finds missing jobs and jobs with other options; missing ACLs', () => {
    const want = [{ kind: 'verify' as const, id: 'v1', store: 's', options: { store: 's', schedule: 'daily' } }];
    assert.equal(jobsDiff(want, { verify: [], prune: [], sync: [] }).missing.length, 1);
    const differ = jobsDiff(want, { verify: [{ id: 'v1', store: 's', options: { store: 's', schedule: 'weekly' } }], prune: [], sync: [] }).differ;
    assert.match(differ[0]!, /verify-job v1: schedule "weekly" ≠ "daily"/);
    assert.deepEqual(aclsMissing([acl('/datastore/s')], [acl('/datastore/s', 'other@pbs')]).length, 1);
  });

  it('builds quoted commands and refuses bad names or control characters', () => {
    assert.equal(jobCreate('verify', 'v1', { store: 's', schedule: 'sat 03:00' }), "proxmox-backup-manager verify-job create v1 --schedule 'sat 03:00' --store s");
    assert.deepEqual(cliArgs({ 'group-filter': ['type:vm', 'group:ct/113'] }), ['--group-filter', 'type:vm', '--group-filter', 'group:ct/113']);
    assert.throws(() => cliArgs({ 'bad key': 'x' }), /invalid option name/);
    assert.throws(() => cliArgs({ comment: 'a\nb' }), /control character/);
    assert.throws(() => jobCreate('verify', '../x', {}), /invalid backup job id/);
    assert.equal(pbsAclUpdate(acl('/datastore/s')), 'proxmox-backup-manager acl update /datastore/s DatastoreBackup --auth-id pve-sync@pbs --propagate true');
    assert.throws(() => pbsAclUpdate(acl('/datastore/s; reboot')), /invalid datastore ACL path/);
  });
});
