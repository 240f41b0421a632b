// Phase 2 parsers on the real tools' formats (sources noted in src/activities/parse/pbs.ts, zpool.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  maintenanceType, parseBackupJobsJson, parseCertFingerprint, parseClusterTasksJson, parseDatastoreJson, parseDatastoreTable,
  parsePbsAclJson, parsePbsJobsJson, parsePbsVersion, parsePveAclJson, parsePvesmStatus, parseSectionConfig, parseStorageConfigJson,
  parseStorageContentJson,
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
    // zfs >= 2.3.0 (show_import, commit 5137c132a5): labels one column to the left when the pool has no comment
    const v23 = text.replace('   pool:', '  pool:').replace('     id:', '    id:').replace('  state:', ' state:').replace(' action:', 'action:').replace(' config:', 'config:');
    assert.deepEqual(parseZpoolImport(v23)[0], p);
  });

  it('finds the whole disk by serial, never a partition link', () => {
    const ls = 'ata-ST3000DM007-1WY10G_ZFN1ABCD\nata-ST3000DM007-1WY10G_ZFN1ABCD-part1\nata-ST3000DM007-1WY10G_ZFN1ABCD-part9\nwwn-0x5000c500a1b2c3d4\nata-Samsung_SSD_870_EVO_500GB_S62ANJ0R400001X\n';
    assert.deepEqual(findDiskBySerial(ls, 'ZFN1ABCD'), ['ata-ST3000DM007-1WY10G_ZFN1ABCD']);
    assert.deepEqual(findDiskBySerial(ls, 'ZFN1'), []);
  });
});

describe('PBS versions, jobs and ACLs; PVE storage config and ACLs', () => {
  it('reads the running version of proxmox-backup-server (api2/node/apt.rs get_versions, PascalCase APTUpdateInfo)', () => {
    const text = JSON.stringify([{ Arch: 'all', ExtraInfo: 'running version: 3.2.4', OldVersion: '3.2.4-1', Origin: 'Proxmox', Package: 'proxmox-backup-server', Priority: 'optional', Section: 'admin', Title: 't', Version: '3.2.4-1', Description: 'd' }]);
    assert.deepEqual(parsePbsVersion(text), { major: 3, minor: 2, patch: 4, text: '3.2.4' });
    assert.equal(parsePbsVersion(JSON.stringify([{ Package: 'proxmox-backup-server', Version: '4.0.14-1' }])).text, '4.0.14');
    assert.throws(() => parsePbsVersion('[]'), /no proxmox-backup-server row/);
  });

  it('reads job configs with every option but id, and AclListItem', () => {
    const jobs = parsePbsJobsJson('[{"id":"v-1","store":"s","schedule":"daily","ignore-verified":true,"outdated-after":30,"group-filter":["type:vm","group:ct/113"]}]');
    assert.deepEqual(jobs, [{ id: 'v-1', store: 's', options: { store: 's', schedule: 'daily', 'ignore-verified': 'true', 'outdated-after': '30', 'group-filter': ['type:vm', 'group:ct/113'] } }]);
    assert.deepEqual(parsePbsAclJson('[{"path":"/datastore/s","ugid":"ops","ugid_type":"group","propagate":false,"roleid":"DatastoreAudit"}]'), [{ path: '/datastore/s', ugid: 'ops', ugidType: 'group', roleid: 'DatastoreAudit', propagate: false }]);
  });

  it('reads pvesh get /storage/<id> without storage/digest/type, and /access/acl', () => {
    assert.deepEqual(parseStorageConfigJson('{"content":"backup","datastore":"d","digest":"ab","max-protected-backups":5,"server":"h","storage":"s","type":"pbs"}'), { content: 'backup', datastore: 'd', 'max-protected-backups': '5', server: 'h' });
    assert.deepEqual(parsePveAclJson('[{"path":"/storage/s","type":"group","ugid":"ops","roleid":"PVEDatastoreUser","propagate":1}]'), [{ path: '/storage/s', type: 'group', ugid: 'ops', roleid: 'PVEDatastoreUser', propagate: true }]);
  });
});

describe('re-point script', () => {
  const cfg = [
    'dir: local', '\tpath /var/lib/vz', '\tcontent iso,vztmpl,backup', '',
    'pbs: pbs-homelab', '\tdatastore homelab-backup', '\tserver 192.168.4.122', '\tcontent backup', '\tencryption-key 7a:1c:5e', '\tfingerprint 11:22',
    '\tmaster-pubkey 1', '\tnamespace homelab', '\tnodes pumped-piglet,still-fawn', '\tprune-backups keep-all=1', '\tusername root@pam', '',
    'pbs: other', '\tdatastore other', '\tserver 192.168.4.122', '\tfingerprint 11:22', '',
  ].join('\n');

  /** Runs the script's awk edit on a copy of `text` (the lock, the rename and the secrets check need /etc/pve). */
  function edit(text: string, params: Parameters<typeof repointStorage>[0]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repoint-'));
    const file = path.join(dir, 'storage.cfg');
    fs.writeFileSync(file, text);
    const line = repointStorage(params).find((l) => l.startsWith('awk '))!.split('/etc/pve/storage.cfg').join(file);
    execFileSync('bash', ['-c', `set -eu; ${line}; mv ${file}.tmp.$$ ${file}`]);
    return fs.readFileSync(file, 'utf8');
  }

  it('rewrites only server and fingerprint of that pbs section, under storage.cfg\'s cfs lock, never remove + add', () => {
    const params = { storage: 'pbs-homelab', server: '192.168.4.17', port: 8007, fingerprint: FP, hasFingerprint: true, hasPort: false };
    const text = repointStorage(params).join('\n');
    assert.doesNotMatch(text, /pvesm (remove|add)/);
    assert.match(text, /mkdir \/etc\/pve\/priv\/lock\/file-storage_cfg/);
    assert.match(text, /sha256sum pbs-homelab\.pw pbs-homelab\.enc pbs-homelab\.master\.pem/);
    const out = edit(cfg, params);
    assert.equal(out, cfg.replace('\tserver 192.168.4.122\n\tcontent backup', '\tserver 192.168.4.17\n\tcontent backup').replace('\tfingerprint 11:22\n\tmaster', `\tfingerprint ${FP}\n\tmaster`));
  });

  it('adds fingerprint and port lines the entry lacks', () => {
    const out = edit(cfg.replace('\tfingerprint 11:22\n\tmaster', '\tmaster'), { storage: 'pbs-homelab', server: 'pbs.lab', port: 8017, fingerprint: FP, hasFingerprint: false, hasPort: false });
    assert.match(out, new RegExp(`pbs: pbs-homelab\\n\\tdatastore homelab-backup\\n\\tserver pbs.lab\\n\\tfingerprint ${FP}\\n\\tport 8017\\n`));
    assert.match(out, /pbs: other\n\tdatastore other\n\tserver 192\.168\.4\.122\n\tfingerprint 11:22\n/);
  });

  it('refuses values that are not a fingerprint or a host name', () => {
    assert.throws(() => repointStorage({ storage: 's', server: 'x', port: 8007, fingerprint: "aa'; rm -rf /", hasFingerprint: true, hasPort: false }), /fingerprint/);
    assert.throws(() => repointStorage({ storage: 's', server: 'x;reboot', port: 8007, fingerprint: FP, hasFingerprint: true, hasPort: false }), /server/);
  });
});
