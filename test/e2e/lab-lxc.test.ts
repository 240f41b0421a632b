// End to end: the lab's LXC containers over real SSH (ssh2, host keys pinned): pct status, list,
// config, exec (the command's own exit code, the CT's own files and units), stop, start, destroy,
// with the real tool's messages and exit codes (pve-container, pve-guest-common), and the audit of what changed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { inventorySchema } from '../../src/inventory/schema';
import { Lab } from '../../lab/src/index';
import { createCt } from '../../lab/src/lxc';

import { sshExec } from '../helpers/lab-ssh';

const HOST = 'fun-bedbug';

void describe('lab: LXC containers (pct)', { timeout: 120_000 }, () => {
  let lab: Lab;
  const pct = (args: string) => sshExec(lab, HOST, `pct ${args}`);

  before(async () => {
    lab = await Lab.start({ staleNode: false });
  });
  after(async () => {
    if (lab) await lab.stop();
  });

  void test('start state: CT 113 frigate runs on fun-bedbug with its config, recordings and an active unit', async () => {
    const inv = inventorySchema.parse(parse(fs.readFileSync(lab.inventoryPath, 'utf8')));
    assert.deepEqual([inv.frigate?.lxc.host, inv.frigate?.lxc.ctid], [HOST, 113]);
    const ct = lab.lxc.container(HOST, 113);
    assert.equal(ct?.status, 'running');
    assert.equal(ct?.hostname, 'frigate');
    assert.equal(ct?.units.frigate, 'active');
    const recs = lab.lxc.files(113, '/media/frigate/recordings');
    assert.ok(recs.length >= 9, `recordings: ${recs.length}`);
    for (const r of recs) assert.match(r, /^\d{4}-\d{2}-\d{2}\/\d{2}\/[a-z_]+\/\d{2}\.\d{2}\.mp4$/);
    assert.match(lab.lxc.read(113, '/config/config.yml')!, /^cameras:\n {2}front_door:/m);

    assert.deepEqual(await pct('status 113'), { code: 0, stdout: 'status: running\n', stderr: '' });
    const list = await pct('list');
    assert.equal(list.stdout, 'VMID       Status     Lock         Name                \n113        running                 frigate             \n');
    const empty = await sshExec(lab, 'pve', 'pct list');
    assert.deepEqual([empty.code, empty.stdout], [0, '']);
    const cfg = await pct('config 113');
    assert.match(cfg.stdout, /^arch: amd64\n/);
    assert.match(cfg.stdout, /\nhostname: frigate\n/);
    assert.match(cfg.stdout, /\nlxc\.mount\.entry: \/dev\/bus\/usb dev\/bus\/usb none bind,optional,create=dir\n$/);
    const missing = await pct('status 999');
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr, "Configuration file 'nodes/fun-bedbug/lxc/999.conf' does not exist\n");
    // Another host does not have the CT.
    const elsewhere = await sshExec(lab, 'still-fawn', 'pct status 113');
    assert.equal(elsewhere.stderr, "Configuration file 'nodes/still-fawn/lxc/113.conf' does not exist\n");
  });

  void test('pct exec: the CT view, the command own exit code, systemctl for the CT unit', async () => {
    const r = await pct(`exec 113 -- bash -c 'hostname; systemctl is-active frigate; grep -c "^  [a-z_]*:$" /config/config.yml >/dev/null; ls /media/frigate/recordings | wc -l; exit 7'`);
    assert.deepEqual(r, { code: 7, stdout: 'frigate\nactive\n3\n', stderr: '' });
    // The host's own view is untouched: no frigate unit, and the VMs' k3s unit still answers as before.
    const host = await sshExec(lab, HOST, 'hostname; systemctl is-active frigate');
    assert.deepEqual([host.code, host.stdout], [3, 'fun-bedbug\ninactive\n']);
    const vm = await sshExec(lab, HOST, `qm guest exec 106 -- bash -c 'systemctl is-active k3s'`);
    assert.equal(vm.stdout, '{\n   "exitcode" : 0,\n   "exited" : 1,\n   "out-data" : "active\\n"\n}\n');

    assert.equal((await pct('exec 113 -- systemctl stop frigate')).code, 0);
    assert.deepEqual(await pct('exec 113 -- systemctl is-active frigate'), { code: 3, stdout: 'inactive\n', stderr: '' });
    assert.equal((await pct('exec 113 -- systemctl start frigate')).code, 0);
    assert.equal((await pct('exec 113 -- systemctl is-active frigate')).stdout, 'active\n');
    const noUnit = await pct('exec 113 -- systemctl stop nope');
    assert.deepEqual([noUnit.code, noUnit.stderr], [5, 'Failed to stop nope.service: Unit nope.service not loaded.\n']);
    const noCmd = await pct('exec 113 --');
    assert.notEqual(noCmd.code, 0);
    assert.match(noCmd.stderr, /^missing command/);
  });

  void test('stop, start, destroy: real messages, idempotence left to the caller, audited as changes', async () => {
    const refused = await pct('destroy 113');
    assert.notEqual(refused.code, 0);
    assert.equal(refused.stderr, 'unable to destroy CT 113 - container is running\n');
    assert.ok(lab.lxc.exists(113));

    assert.deepEqual(await pct('stop 113'), { code: 0, stdout: '', stderr: '' });
    assert.equal((await pct('status 113')).stdout, 'status: stopped\n');
    const again = await pct('stop 113');
    assert.notEqual(again.code, 0);
    assert.equal(again.stderr, 'CT 113 not running\n');
    const exec = await pct('exec 113 -- true');
    assert.notEqual(exec.code, 0);
    assert.equal(exec.stderr, "container '113' not running!\n");
    assert.equal(lab.lxc.container(HOST, 113)?.units.frigate, undefined, 'a stopped CT runs no unit');

    assert.equal((await pct('start 113')).code, 0);
    assert.equal((await pct('exec 113 -- systemctl is-active frigate')).stdout, 'active\n', 'enabled unit starts on boot');
    assert.equal((await pct('start 113')).stderr, 'CT 113 already running\n');

    assert.equal((await pct('shutdown 113 --timeout 30')).code, 0);
    const jobsBefore = fs.readFileSync(`${lab.dir}/pve/jobs.cfg`, 'utf8');
    assert.match(jobsBefore, /\tvmid 113\n/, 'a backup job names only CT 113');
    const destroyed = await pct('destroy 113 --purge 1');
    assert.deepEqual(destroyed, { code: 0, stdout: '  Logical volume "vm-113-disk-0" successfully removed.\npurging CT 113 from related configurations..\n', stderr: '' });
    assert.equal(lab.lxc.exists(113), false);
    // --purge: remove_vmid_from_backup_jobs drops a job whose vmid list becomes empty, keeps an `all` job
    const jobsAfter = fs.readFileSync(`${lab.dir}/pve/jobs.cfg`, 'utf8');
    assert.doesNotMatch(jobsAfter, /vmid 113/);
    assert.match(jobsAfter, /\tall 1\n/);
    // mp0 is a bind mount (/tank/frigate): not a volume, so its data stays on the host
    assert.ok(lab.lxc.hostFiles(HOST, '/tank/frigate/recordings').length >= 9, 'the bind-mounted recordings outlive the CT');
    assert.equal(lab.lxc.container(HOST, 113), null);
    assert.equal((await pct('status 113')).stderr, "Configuration file 'nodes/fun-bedbug/lxc/113.conf' does not exist\n");
    assert.equal((await pct('destroy 113')).stderr, "Configuration file 'nodes/fun-bedbug/lxc/113.conf' does not exist\n");
    assert.equal((await pct('list')).stdout, '');

    const changes = lab.audit().filter((e) => e.tool === 'pct' && e.change).map((e) => e.argv.slice(0, 2).join(' '));
    assert.deepEqual(changes, ['destroy 113', 'stop 113', 'stop 113', 'start 113', 'start 113', 'shutdown 113', 'destroy 113', 'destroy 113']);
    assert.equal(lab.audit().filter((e) => e.tool === 'pct' && e.argv[0] === 'status').every((e) => !e.change), true);
  });
  void test('volumes: vzdump leaves out a volume mount point without backup=1, pct destroy frees every volume the CT owns', async () => {
    createCt(lab.dir, HOST, 120, {
      hostname: 'nvr2',
      rootfs: 'local-lvm:vm-120-disk-0,size=8G',
      mp0: 'local-lvm:vm-120-disk-1,mp=/media/frigate,size=500G',
      mp1: 'local-lvm:vm-120-disk-2,mp=/srv,backup=1',
      mp2: '/tank/nvr2,mp=/config',
      mp3: 'local-lvm:vm-121-disk-0,mp=/shared',
      unused0: 'local-lvm:vm-120-disk-3',
    }, { 'media/frigate/recordings/a.mp4': 'x', 'config/config.yml': 'cameras: {}\n' });
    const dump = await sshExec(lab, HOST, 'vzdump 120 --storage pbs-homelab --mode snapshot');
    assert.equal(dump.code, 0, dump.stderr);
    const lines = dump.stderr.split('\n').filter((l) => /mount point/.test(l));
    assert.deepEqual(lines, [
      "INFO: including mount point rootfs ('/') in backup",
      "INFO: excluding volume mount point mp0 ('/media/frigate') from backup (disabled)",
      "INFO: including mount point mp1 ('/srv') in backup",
      "INFO: excluding bind mount point mp2 ('/config') from backup (not a volume)",
      "INFO: excluding volume mount point mp3 ('/shared') from backup (disabled)",
    ]);
    assert.match(dump.stderr, / --include-dev \/mnt\/vzsnap0\/\.\/ --include-dev \/mnt\/vzsnap0\/\.\/srv /);
    assert.match(dump.stderr, /\nINFO: Backup job finished successfully\n$/);

    // the whole cluster's guests: the CT on its node, the VMs on theirs
    const res = await sshExec(lab, 'still-fawn', 'pvesh get /cluster/resources --type vm --output-format json');
    const guests = JSON.parse(res.stdout) as { id: string; node: string; status: string; vmid: number }[];
    assert.deepEqual(guests.find((g) => g.vmid === 120), { id: 'lxc/120', maxcpu: 1, maxmem: 536870912, name: 'nvr2', node: HOST, status: 'running', template: 0, type: 'lxc', uptime: 0, vmid: 120 });
    assert.ok(guests.some((g) => g.id.startsWith('qemu/') && g.node === HOST));

    // another node's vzdump skips a guest that lives elsewhere, and with none left returns unseen
    assert.deepEqual(await sshExec(lab, 'still-fawn', 'vzdump 120 --storage pbs-homelab'), { code: 0, stdout: '', stderr: '' });
    // a CT locked by a backup (a vzdump that was killed leaves the lock) refuses destroy and the next vzdump
    lab.lxc.setConfig(120, 'lock', 'backup');
    assert.match((await pct('config 120')).stdout, /\nlock: backup\n/);
    const locked = await pct('destroy 120 --force 1');
    assert.deepEqual([locked.code, locked.stderr], [255, 'CT is locked (backup)\n']);
    assert.match((await sshExec(lab, HOST, 'vzdump 120 --storage pbs-homelab')).stderr, /\nERROR: Backup of VM 120 failed - CT is locked \(backup\)\n/);
    lab.lxc.setConfig(120, 'lock', undefined);

    const destroyed = await pct('destroy 120 --force 1');
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.equal(destroyed.stdout, ['vm-120-disk-0', 'vm-120-disk-1', 'vm-120-disk-2', 'vm-120-disk-3'].map((v) => `  Logical volume "${v}" successfully removed.\n`).join(''));
    assert.equal(destroyed.stderr, "forced to stop CT 120 before destroying!\nignore deletion of 'local-lvm:vm-121-disk-0', CT 120 isn't the owner!\n");
    assert.equal(lab.lxc.exists(120), false);
    assert.deepEqual(lab.lxc.files(120, '/media/frigate'), [], 'the recordings on the mp0 volume are gone');
    assert.deepEqual(lab.lxc.hostFiles(HOST, '/tank/nvr2'), ['config.yml'], 'the bind mount source stays on the host');
    const after = JSON.parse((await sshExec(lab, HOST, 'pvesh get /cluster/resources --type vm --output-format json')).stdout) as { vmid: number }[];
    assert.equal(after.some((g) => g.vmid === 120), false, 'absent from the whole cluster');
  });

  // pve-container API2/LXC/Config.pm update_vm, LXC/Config.pm update_pct_config; pve-common JSONSchema.pm get_options
  void test('pct set: onboot written as 1/0, --delete drops the line, real messages and exit codes, audited as a change', async () => {
    createCt(lab.dir, HOST, 130, { hostname: 'spare', rootfs: 'local-lvm:vm-130-disk-0,size=8G', onboot: 1 }, {});
    const onbootLine = async () => (await pct('config 130')).stdout.split('\n').filter((l) => l.startsWith('onboot:'));
    assert.deepEqual(await onbootLine(), ['onboot: 1']);
    assert.deepEqual(await pct('set 130 --onboot 0'), { code: 0, stdout: '', stderr: '' });
    assert.deepEqual(await onbootLine(), ['onboot: 0']);
    assert.equal((await pct('set 130 --onboot yes')).code, 0);
    assert.deepEqual(await onbootLine(), ['onboot: 1']);
    assert.deepEqual(await pct('set 130 --delete onboot'), { code: 0, stdout: '', stderr: '' });
    assert.deepEqual(await onbootLine(), []);
    assert.deepEqual(await pct('set 130 --delete onboot'), { code: 0, stdout: '', stderr: "cannot delete 'onboot' - not set in current configuration!\n" });
    assert.deepEqual(await pct('set 130'), { code: 255, stdout: '', stderr: 'no options specified\n' });
    assert.deepEqual(await pct('set 130 --onboot maybe'), { code: 255, stdout: '', stderr: 'unable to parse boolean option\n' });
    lab.lxc.setConfig(130, 'lock', 'backup');
    assert.deepEqual(await pct('set 130 --onboot 0'), { code: 255, stdout: '', stderr: 'CT is locked (backup)\n' });
    assert.equal((await pct('set 131 --onboot 0')).stderr, "Configuration file 'nodes/fun-bedbug/lxc/131.conf' does not exist\n");
    assert.ok(lab.audit().some((e) => e.tool === 'pct' && e.argv[0] === 'set' && e.change), 'pct set is audited as a change');
  });
});
