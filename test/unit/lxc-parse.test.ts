// Parsers of pct and vzdump output, on the real formats (pve-container pct.pm, pve-manager VZDump.pm).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { missingConfigNode, parseCtVolumes, parsePctConfig, parsePctList, parsePctStatus } from '../../src/activities/parse/pct';
import { parseClusterGuests } from '../../src/activities/parse/pve-cluster';
import { destroyImpact, refuseLoss } from '../../src/activities/lxc/volumes';
import { parseArchiveName, parseStorageCfgEntry, parseVzdumpLog } from '../../src/activities/parse/vzdump';

describe('parsePctStatus', () => {
  it('running, stopped', () => {
    assert.equal(parsePctStatus({ exitCode: 0, stdout: 'status: running\n', stderr: '' }, 113), 'running');
    assert.equal(parsePctStatus({ exitCode: 0, stdout: 'status: stopped\n', stderr: '' }, 113), 'stopped');
  });
  it('a missing config only says: not on this node (load_config reads nodes/<local node>/lxc/<id>.conf)', () => {
    const raw = { exitCode: 2, stdout: '', stderr: "Configuration file 'nodes/fun-bedbug/lxc/113.conf' does not exist\n" };
    assert.equal(parsePctStatus(raw, 113), 'not-on-this-node');
    assert.equal(missingConfigNode(raw.stderr), 'fun-bedbug');
    assert.equal(missingConfigNode('ipcc_send_rec[1] failed'), null);
  });
  it('another CT missing, other errors and odd output throw', () => {
    assert.throws(() => parsePctStatus({ exitCode: 2, stdout: '', stderr: "Configuration file 'nodes/fun-bedbug/lxc/114.conf' does not exist\n" }, 113), /exited 2/);
    assert.throws(() => parsePctStatus({ exitCode: 255, stdout: '', stderr: 'ipcc_send_rec[1] failed: Connection refused\n' }, 113), /Connection refused/);
    assert.throws(() => parsePctStatus({ exitCode: 0, stdout: 'status: paused\n', stderr: '' }, 113), /expected "status: running\|stopped"/);
  });
});

describe('parsePctConfig / parsePctList', () => {
  it('key: value lines, then lxc.* lines (repeated keys kept)', () => {
    const text = [
      'arch: amd64',
      'hostname: frigate',
      'mp0: /tank/frigate,mp=/media/frigate',
      'rootfs: local-lvm:vm-113-disk-0,size=32G',
      'lxc.cgroup2.devices.allow: c 189:* rwm',
      'lxc.cgroup2.devices.allow: c 226:0 rwm',
      'lxc.mount.entry: /dev/bus/usb dev/bus/usb none bind,optional,create=dir',
      '',
    ].join('\n');
    const c = parsePctConfig(text);
    assert.equal(c.hostname, 'frigate');
    assert.equal(c.rootfs, 'local-lvm:vm-113-disk-0,size=32G');
    assert.equal(c['lxc.cgroup2.devices.allow'], 'c 189:* rwm\nc 226:0 rwm');
  });
  it('pct list columns (printf %-10s %-10s %-12s %-20s); nothing when there are no CTs', () => {
    const text = 'VMID       Status     Lock         Name                \n113        running                 frigate             \n120        stopped    backup       pihole              \n';
    assert.deepEqual(parsePctList(text), [
      { vmid: 113, status: 'running', lock: '', name: 'frigate' },
      { vmid: 120, status: 'stopped', lock: 'backup', name: 'pihole' },
    ]);
    assert.deepEqual(parsePctList(''), []);
    assert.throws(() => parsePctList('ID STATE\n1 x\n'), /unexpected header/);
  });
});

const OK_LOG = `INFO: starting new backup job: vzdump 113 --storage pbs-homelab --mode snapshot
INFO: Starting Backup of VM 113 (lxc)
INFO: Backup started at 2026-03-01 02:00:01
INFO: status = running
INFO: CT Name: frigate
INFO: including mount point rootfs ('/') in backup
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: create storage snapshot 'vzdump'
INFO: creating Proxmox Backup Server archive 'ct/113/2026-03-01T02:00:01Z'
INFO: Starting backup: ct/113/2026-03-01T02:00:01Z
INFO: Duration: 36.04s
INFO: cleanup temporary 'vzdump' snapshot
INFO: Finished Backup of VM 113 (00:00:38)
INFO: Backup finished at 2026-03-01 02:00:39
INFO: Backup job finished successfully
`;

describe('parseVzdumpLog', () => {
  it('archive, duration and the job result of a good run', () => {
    assert.deepEqual(parseVzdumpLog(OK_LOG, 113), {
      archive: 'ct/113/2026-03-01T02:00:01Z',
      duration: '00:00:38',
      jobOk: true,
      errors: [],
      included: [{ key: 'rootfs', mp: '/' }],
      excluded: [],
    });
  });
  it('mount points left out (VZDump/LXC.pm prepare: "excluding <type> mount point ... (<reason>)")', () => {
    const log = OK_LOG.replace(
      "in backup\n",
      "in backup\nINFO: excluding volume mount point mp0 ('/media/frigate') from backup (disabled)\nINFO: excluding bind mount point mp1 ('/mnt/t') from backup (not a volume)\nINFO: including mount point mp2 ('/srv') in backup\n",
    );
    const r = parseVzdumpLog(log, 113);
    assert.deepEqual(r.excluded, [
      { type: 'volume', key: 'mp0', mp: '/media/frigate', reason: 'disabled' },
      { type: 'bind', key: 'mp1', mp: '/mnt/t', reason: 'not a volume' },
    ]);
    assert.deepEqual(r.included, [{ key: 'rootfs', mp: '/' }, { key: 'mp2', mp: '/srv' }]);
  });
  it('a failed run: ERROR lines, no finished line, job finished with errors', () => {
    const log = `INFO: starting new backup job: vzdump 113 --storage pbs-homelab
INFO: Starting Backup of VM 113 (lxc)
ERROR: Backup of VM 113 failed - 500 Can't connect to 127.0.0.2:8007 (Connection refused)
INFO: Failed at 2026-03-01 02:00:02
INFO: Backup job finished with errors
`;
    const r = parseVzdumpLog(log, 113);
    assert.equal(r.jobOk, false);
    assert.equal(r.duration, null);
    assert.deepEqual(r.errors, ["Backup of VM 113 failed - 500 Can't connect to 127.0.0.2:8007 (Connection refused)"]);
  });
  it('lines of another guest do not count', () => {
    const r = parseVzdumpLog(OK_LOG.replaceAll('113', '114'), 113);
    assert.equal(r.archive, null);
    assert.equal(r.duration, null);
  });
});

describe('parseArchiveName / parseStorageCfgEntry', () => {
  it('archive names', () => {
    assert.deepEqual(parseArchiveName('ct/113/2026-03-01T02:00:01Z'), { type: 'ct', id: '113', time: '2026-03-01T02:00:01Z' });
    assert.equal(parseArchiveName('ct/113/yesterday'), null);
  });
  it('one storage of storage.cfg', () => {
    const cfg = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\npbs: pbs-homelab\n\tdatastore homelab-backup\n\tserver 127.0.0.2\n\tcontent backup\n';
    assert.deepEqual(parseStorageCfgEntry(cfg, 'pbs-homelab'), { type: 'pbs', props: { datastore: 'homelab-backup', server: '127.0.0.2', content: 'backup' } });
    assert.deepEqual(parseStorageCfgEntry(cfg, 'local')?.props.path, '/var/lib/vz');
    assert.equal(parseStorageCfgEntry(cfg, 'nope'), null);
  });
});

describe('parseCtVolumes / destroyImpact (pve-container LXC/Config.pm parse_volume, LXC.pm destroy_lxc_container)', () => {
  const conf = {
    rootfs: 'local-lvm:vm-113-disk-0,size=32G',
    mp10: 'local-lvm:vm-113-disk-3,mp=/srv,backup=1',
    mp0: 'volume=local-lvm:vm-113-disk-1,mp=/media/frigate,size=500G',
    mp1: '/tank/frigate,mp=/mnt/tank',
    mp2: '/dev/sdb1,mp=/mnt/usb',
    mp3: 'local-lvm:vm-120-disk-1,mp=/shared',
    unused0: 'local-lvm:vm-113-disk-2',
    hostname: 'frigate',
  };
  it('rootfs, mpN by number, unusedN; type, mount path, backup flag and owner', () => {
    const v = parseCtVolumes(conf);
    assert.deepEqual(v.map((x) => x.key), ['rootfs', 'mp0', 'mp1', 'mp2', 'mp3', 'mp10', 'unused0']);
    assert.deepEqual(v[0], { key: 'rootfs', volid: 'local-lvm:vm-113-disk-0', type: 'volume', mp: '/', backup: false, owner: 113 });
    assert.deepEqual(v[1], { key: 'mp0', volid: 'local-lvm:vm-113-disk-1', type: 'volume', mp: '/media/frigate', backup: false, owner: 113 });
    assert.deepEqual([v[2]!.type, v[3]!.type, v[4]!.owner, v[5]!.backup, v[6]!.mp], ['bind', 'device', 120, true, null]);
  });
  it('the destroy frees owned volumes; those outside the backup are lost and refused', () => {
    const i = destroyImpact(parseCtVolumes(conf), 113);
    assert.deepEqual(i.backedUp.map((x) => x.key), ['rootfs', 'mp10']);
    assert.deepEqual(i.lost.map((x) => x.key), ['mp0', 'unused0']);
    assert.deepEqual(i.kept.map((x) => x.key), ['mp1', 'mp2', 'mp3']);
    assert.throws(() => refuseLoss(i, 113, 'fun-bedbug'), /would free mp0 \(local-lvm:vm-113-disk-1 at \/media\/frigate\), unused0 \(local-lvm:vm-113-disk-2\)/);
    const safe = destroyImpact(parseCtVolumes({ rootfs: conf.rootfs, mp1: conf.mp1 }), 113);
    assert.doesNotThrow(() => refuseLoss(safe, 113, 'fun-bedbug'));
  });
});

describe('parseClusterGuests (pve-manager API2/Cluster.pm resources)', () => {
  it('guests with their node; other entries skipped; bad output refused', () => {
    const text = JSON.stringify([
      { id: 'node/fun-bedbug', node: 'fun-bedbug', status: 'online', type: 'node' },
      { id: 'lxc/113', name: 'frigate', node: 'still-fawn', status: 'running', type: 'lxc', vmid: 113 },
      { id: 'qemu/106', node: 'fun-bedbug', status: 'unknown', type: 'qemu', vmid: 106 },
    ]);
    assert.deepEqual(parseClusterGuests(text), [
      { vmid: 113, node: 'still-fawn', type: 'lxc', status: 'running', name: 'frigate' },
      { vmid: 106, node: 'fun-bedbug', type: 'qemu', status: 'unknown', name: null },
    ]);
    assert.throws(() => parseClusterGuests('no such resource'), /no JSON/);
    assert.throws(() => parseClusterGuests('{}'), /array/);
  });
});
