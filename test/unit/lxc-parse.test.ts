// Parsers of pct and vzdump output, on the real formats (pve-container pct.pm, pve-manager VZDump.pm).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePctConfig, parsePctList, parsePctStatus } from '../../src/activities/parse/pct';
import { parseArchiveName, parseStorageCfgEntry, parseVzdumpLog } from '../../src/activities/parse/vzdump';

describe('parsePctStatus', () => {
  it('running, stopped', () => {
    assert.equal(parsePctStatus({ exitCode: 0, stdout: 'status: running\n', stderr: '' }, 113), 'running');
    assert.equal(parsePctStatus({ exitCode: 0, stdout: 'status: stopped\n', stderr: '' }, 113), 'stopped');
  });
  it('a missing config is a CT that is gone, not an error', () => {
    const raw = { exitCode: 2, stdout: '', stderr: "Configuration file 'nodes/fun-bedbug/lxc/113.conf' does not exist\n" };
    assert.equal(parsePctStatus(raw, 113), 'gone');
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
    assert.deepEqual(parseVzdumpLog(OK_LOG, 113), { archive: 'ct/113/2026-03-01T02:00:01Z', duration: '00:00:38', jobOk: true, errors: [] });
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
