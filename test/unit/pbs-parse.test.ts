// Phase 2 parsers on the real tools' formats (sources noted in src/activities/parse/pbs.ts, zpool.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  maintenanceType, parseBackupJobsJson, parseCertFingerprint, parseClusterTasksJson, parseDatastoreJson, parseDatastoreTable,
  parsePvesmStatus, parseSectionConfig, parseStorageContentJson,
} from '../../src/activities/parse/pbs';
import { findDiskBySerial, parseZpoolImport, parseZpoolListH } from '../../src/activities/parse/zpool';
import { repointStorage } from '../../src/activities/pbs/commands';

const FP = '64:d3:ff:3a:50:38:53:5a:9b:f7:50:8c:b6:a1:b5:96:e3:99:4c:2b:f2:8a:50:8e:0c:31:b4:c7:4d:ab:ab:fe';

describe('proxmox-backup-manager output', () => {
  it('reads the datastore list box table (docs/storage.rst example, two rows)', () => {
    const text = [
      '┌────────┬──────────────────────┬─────────────────────────────┐',
      '│ name   │ path                 │ comment                     │',
      '╞════════╪══════════════════════╪═════════════════════════════╡',
      '│ store1 │ /backup/disk1/store1 │ This is my default storage. │',
      '├────────┼──────────────────────┼─────────────────────────────┤',
      '│ store2 │ /pbs-hdd/datastore   │                             │',
      '└────────┴──────────────────────┴─────────────────────────────┘',
      '',
    ].join('\n');
    assert.deepEqual(parseDatastoreTable(text), [
      { name: 'store1', path: '/backup/disk1/store1', comment: 'This is my default storage.' },
      { name: 'store2', path: '/pbs-hdd/datastore', comment: '' },
    ]);
    assert.deepEqual(parseDatastoreTable(''), []);
  });

  it('reads the JSON list with its maintenance mode (default key "type")', () => {
    const ds = parseDatastoreJson('[{"maintenance-mode":"type=offline","name":"homelab-backup","path":"/pbs-hdd/datastore"}]\n');
    assert.equal(ds[0]!.maintenanceMode, 'type=offline');
    assert.equal(maintenanceType(ds[0]!.maintenanceMode), 'offline');
    assert.equal(maintenanceType('read-only,message=moving'), 'read-only');
    assert.equal(maintenanceType(undefined), undefined);
  });

  it('finds the fingerprint in cert info (src/bin/proxmox_backup_manager/cert.rs lines)', () => {
    const text = `Subject: CN = pbs\nIssuer: CN = pbs\nValidity:\n    Not Before: Jan  1 00:00:00 2025 GMT\n    Not After : Jan  1 00:00:00 2027 GMT\nFingerprint (sha256): ${FP.toUpperCase()}\nPublic key type: rsaEncryption\nPublic key bits: 4096\n`;
    assert.equal(parseCertFingerprint(text), FP);
    assert.throws(() => parseCertFingerprint('Subject: CN = pbs\n'), /Fingerprint/);
  });
});

describe('pvesh / pvesm output', () => {
  it('reads the storage content listing: volid, verification state, unverified snapshots', () => {
    const text =
      '[{"content":"backup","ctime":1717236000,"format":"pbs-vm","size":1073741824,"subtype":"qemu","verification":{"state":"ok","upid":"UPID:pbs:000003F2:05B1FA3A:6B05EB3A:verify:homelab-backup:vm/105:root@pam:"},"vmid":105,"volid":"pbs-homelab:backup/vm/105/2024-06-01T10:00:00Z"},' +
      '{"content":"backup","ctime":1717149600,"format":"pbs-ct","size":5,"subtype":"lxc","verification":{"state":"failed","upid":"UPID:x"},"vmid":113,"volid":"pbs-homelab:backup/ct/113/2024-05-31T10:00:00Z"},' +
      '{"content":"backup","ctime":1717236000,"format":"pbs-ct","size":5,"subtype":"lxc","vmid":113,"volid":"pbs-homelab:backup/ct/113/2024-06-01T10:00:00Z"}]\n';
    assert.deepEqual(parseStorageContentJson(text), [
      { type: 'ct', id: '113', time: '2024-05-31T10:00:00Z', verified: false, verifyState: 'failed' },
      { type: 'ct', id: '113', time: '2024-06-01T10:00:00Z', verified: false, verifyState: 'none' },
      { type: 'vm', id: '105', time: '2024-06-01T10:00:00Z', verified: true, verifyState: 'ok' },
    ]);
  });

  it('reads backup jobs (enabled omitted means enabled) and running tasks (no status)', () => {
    const jobs = parseBackupJobsJson('[{"all":1,"enabled":0,"id":"backup-5d0d5ac6-1c2e","schedule":"02:00","storage":"pbs-homelab","type":"vzdump"},{"id":"b2","schedule":"sun 04:00","storage":"local","type":"vzdump"}]\n');
    assert.deepEqual(jobs.map((j) => [j.id, j.enabled, j.storage]), [['backup-5d0d5ac6-1c2e', false, 'pbs-homelab'], ['b2', true, 'local']]);
    const tasks = parseClusterTasksJson('[{"endtime":1,"id":"","node":"a","status":"OK","type":"vzdump","upid":"U1"},{"id":"","node":"b","starttime":2,"type":"vzdump","upid":"U2"}]');
    assert.deepEqual(tasks.map((t) => [t.upid, t.running]), [['U1', false], ['U2', true]]);
  });

  it('reads storage.cfg sections and pvesm status (PVE 9 header)', () => {
    const cfg = `dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\npbs: pbs-homelab\n\tdatastore homelab-backup\n\tserver 192.168.4.175\n\tcontent backup\n\tfingerprint ${FP}\n\tusername root@pam\n`;
    const s = parseSectionConfig(cfg);
    assert.deepEqual(s.map((x) => [x.type, x.id]), [['dir', 'local'], ['pbs', 'pbs-homelab']]);
    assert.equal(s[1]!.props.server, '192.168.4.175');
    const status =
      'Name               Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %\n' +
      'pbs-homelab         pbs     active      2883218432      1181116006      1702102426   40.97%\n';
    assert.equal(parsePvesmStatus(status, 'pbs-homelab'), 'active');
    assert.equal(parsePvesmStatus(status, 'other'), undefined);
  });
});

describe('zpool and /dev/disk/by-id', () => {
  it('reads zpool list -H and the importable pools, including one not exported', () => {
    assert.deepEqual(parseZpoolListH('rpool\tONLINE\npbs-hdd\tDEGRADED\n'), [{ name: 'rpool', health: 'ONLINE' }, { name: 'pbs-hdd', health: 'DEGRADED' }]);
    const text = [
      '   pool: pbs-hdd',
      '     id: 7590330848605824575',
      '  state: ONLINE',
      'status: The pool was last accessed by another system.',
      ' action: The pool can be imported using its name or numeric identifier and',
      "\tthe '-f' flag.",
      '   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-EY',
      ' config:',
      '',
      '\tpbs-hdd                                 ONLINE',
      '\t  ata-ST3000DM007-1WY10G_ZFN1ABCD       ONLINE',
      '',
    ].join('\n');
    const [p] = parseZpoolImport(text);
    assert.deepEqual(p, { name: 'pbs-hdd', id: '7590330848605824575', state: 'ONLINE', inUseElsewhere: true, devices: ['ata-ST3000DM007-1WY10G_ZFN1ABCD'] });
    assert.equal(parseZpoolImport(text.replace(/status:.*\n/, '').replace(/ and\n.*\n/, '.\n'))[0]!.inUseElsewhere, false);
  });

  it('finds the whole disk by serial, never a partition link', () => {
    const ls = 'ata-ST3000DM007-1WY10G_ZFN1ABCD\nata-ST3000DM007-1WY10G_ZFN1ABCD-part1\nata-ST3000DM007-1WY10G_ZFN1ABCD-part9\nwwn-0x5000c500a1b2c3d4\nata-Samsung_SSD_870_EVO_500GB_S62ANJ0R400001X\n';
    assert.deepEqual(findDiskBySerial(ls, 'ZFN1ABCD'), ['ata-ST3000DM007-1WY10G_ZFN1ABCD']);
    assert.deepEqual(findDiskBySerial(ls, 'ZFN1'), []);
  });
});

describe('re-point script', () => {
  it('reads the password on the host, keeps a root-only copy until the add succeeded', () => {
    const script = repointStorage({ storage: 'pbs-homelab', server: '192.168.4.17', port: 8007, datastore: 'homelab-backup', username: 'root@pam', fingerprint: FP, removeFirst: true });
    const text = script.join('\n');
    assert.match(text, /umask 077/);
    assert.ok(text.indexOf('cp /etc/pve/priv/storage/pbs-homelab.pw') < text.indexOf('pvesm remove pbs-homelab'));
    assert.ok(text.indexOf('pvesm add pbs pbs-homelab') < text.indexOf('rm -f /etc/pve/priv/storage/pbs-homelab.pw.pbs-migration'));
    assert.match(text, /--password "\$\(cat \/etc\/pve\/priv\/storage\/pbs-homelab\.pw\.pbs-migration\)"/);
    assert.doesNotMatch(repointStorage({ storage: 'pbs-homelab', server: 'x', port: 8007, datastore: 'd', username: 'root@pam', fingerprint: FP, removeFirst: false }).join('\n'), /pvesm remove/);
    assert.throws(() => repointStorage({ storage: 's', server: 'x', port: 8007, datastore: 'd', username: 'root@pam', fingerprint: "aa'; rm -rf /", removeFirst: true }), /fingerprint/);
  });
});
