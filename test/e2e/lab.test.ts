// End to end: the lab itself. Start it, check the seed's start state, then do the whole still-fawn
// rejoin by hand over SSH (ssh2, host keys pinned from the lab's known_hosts), exactly the commands
// lab/SPEC.md lists, including the failures a runbook must survive (wrong version, wrong token).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { inventorySchema } from '../../src/inventory/schema';
import { Lab } from '../../lab/src/index';

import { sshExec } from '../helpers/lab-ssh';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface GuestResult {
  exitcode?: number;
  exited: number;
  'out-data'?: string;
  'err-data'?: string;
}

/** `qm guest exec <vmid> --timeout N -- bash -c '<script>'` on the VM's host; qm itself exits 0. */
async function inVm(lab: Lab, host: string, vmid: number, script: string, timeoutS = 60): Promise<GuestResult> {
  const r = await sshExec(lab, host, `qm guest exec ${vmid} --timeout ${timeoutS} -- bash -c ${q(script)}`);
  assert.equal(r.code, 0, `qm failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as GuestResult;
}

const TLS = '/var/lib/rancher/k3s/server/tls/etcd';

void describe('lab', { timeout: 240_000 }, () => {
  let lab: Lab;
  let dir = '';
  let piglet = '';
  let oldFawnId = '';

  before(async () => {
    const t = Date.now();
    lab = await Lab.start({ iommuGroups: { 'still-fawn': 0 } });
    dir = lab.dir;
    piglet = lab.info.vms.find((v) => v.host === 'pumped-piglet')!.address;
    console.log(`# Lab.start took ${Date.now() - t} ms (subnet ${lab.subnet})`);
  });

  after(async () => {
    if (!lab) return;
    await lab.stop();
    await lab.stop(); // idempotent
    assert.deepEqual(lab.processes(), [], 'no lab process is left');
    assert.equal(fs.existsSync(dir), false);
  });

  const etcdctl = (args: string) => `etcdctl --cacert ${TLS}/server-ca.crt --cert ${TLS}/client.crt --key ${TLS}/client.key --endpoints https://${piglet}:2379 ${args}`;

  void test('inventory.yaml validates against the schema and points at the lab', () => {
    const inv = inventorySchema.parse(parse(fs.readFileSync(lab.inventoryPath, 'utf8')));
    // the four Proxmox hosts, and the Frigate node VM's own sshd (lab/src/vm-sshd.ts) on the node's address
    assert.deepEqual(Object.keys(inv.hosts).sort(), ['fun-bedbug', 'k3s-vm-still-fawn', 'pumped-piglet', 'pve', 'still-fawn']);
    assert.equal(inv.hosts['k3s-vm-still-fawn']!.address, inv.k3s.nodes['k3s-vm-still-fawn']!.address);
    assert.equal(inv.frigate?.copy.nodeHost, 'k3s-vm-still-fawn');
    assert.equal(inv.k3s.installScriptUrl, lab.installScriptUrl);
    assert.equal(inv.k3s.nodes['k3s-vm-still-fawn']!.vmid, 108);
    assert.equal(inv.k3s.nodes['k3s-vm-still-fawn']!.gpuPassthrough, true);
    for (const h of Object.values(inv.hosts)) assert.match(h.address, /^127\./);
    // the approvers' keys: allowed_signers names each lab key by its approver, private halves 0600
    assert.equal(inv.approvals.allowedSigners, lab.allowedSignersPath);
    const signers = fs.readFileSync(lab.allowedSignersPath, 'utf8');
    for (const name of inv.approvers) {
      assert.equal(fs.statSync(lab.approverKey(name)).mode & 0o777, 0o600);
      const [type, blob] = fs.readFileSync(`${lab.approverKey(name)}.pub`, 'utf8').split(' ');
      assert.ok(signers.includes(`\n${name} ${type} ${blob}\n`), `${name} in ${lab.allowedSignersPath}`);
    }
  });

  void test('start state: still-fawn stale, listed but unhealthy, activating, node Unknown', async () => {
    const members = await lab.etcdMembers();
    assert.equal(members.length, 4);
    const fawn = members.find((m) => m.name.startsWith('k3s-vm-still-fawn-'));
    assert.ok(fawn);
    oldFawnId = fawn.id;
    assert.match(fawn.id, /^[0-9a-f]{1,16}$/);
    const health = await lab.endpointHealth();
    assert.deepEqual(health.filter((e) => !e.health).map((e) => e.endpoint), [fawn.clientURLs[0]]);
    const nodes = await lab.kubeNodes();
    assert.equal(nodes.find((n) => n.name === 'k3s-vm-still-fawn')?.ready, 'Unknown');
    assert.equal(nodes.filter((n) => n.ready === 'True').length, 3);

    const host = await sshExec(lab, 'still-fawn', 'ls /sys/kernel/iommu_groups/ | wc -l; qm status 108; qm guest cmd 108 ping');
    assert.equal(host.code, 0);
    assert.equal(host.stdout, '0\nstatus: running\n');
    const other = await sshExec(lab, 'pve', 'ls /sys/kernel/iommu_groups/ | wc -l');
    assert.equal(other.stdout, '42\n');

    const active = await sshExec(lab, 'still-fawn', `qm guest exec 108 -- bash -c 'systemctl is-active k3s'`);
    assert.equal(active.stdout, '{\n   "exitcode" : 3,\n   "exited" : 1,\n   "out-data" : "activating\\n"\n}\n');
    const j = await inVm(lab, 'still-fawn', 108, 'journalctl -u k3s --no-pager -n 50; test -x /usr/local/bin/k3s-uninstall.sh && k3s --version');
    assert.match(j['out-data']!, /remote error: tls: certificate required/);
    assert.match(j['out-data']!, /k3s version v1\.32\.5\+k3s1 \(8e8f2a47\)\ngo version go1\.23\.8\n$/);
    const missing = await sshExec(lab, 'still-fawn', 'qm guest exec 999 -- true');
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr, "Configuration file 'nodes/still-fawn/qemu-server/999.conf' does not exist\n");
    assert.equal(lab.audit().filter((e) => e.change).length, 0);
  });

  void test('the rejoin by hand: delete node (K3s removes its member), member remove, uninstall, failed installs, install, wait', async () => {
    const list = await inVm(lab, 'pumped-piglet', 105, etcdctl('member list'));
    const row = list['out-data']!.split('\n').find((l) => l.includes(', k3s-vm-still-fawn-'))!;
    assert.equal(row.split(', ')[0], oldFawnId);
    const del = await inVm(lab, 'pumped-piglet', 105, 'kubectl delete node k3s-vm-still-fawn');
    assert.equal(del['out-data'], 'node "k3s-vm-still-fawn" deleted\n');
    // K3s's etcd finalizer removed the node's member with the node object (k3s member_controller.go onRemove)
    const after = await inVm(lab, 'pumped-piglet', 105, etcdctl('member list'));
    assert.ok(!after['out-data']!.includes(oldFawnId), after['out-data']);
    assert.equal(after['out-data']!.trim().split('\n').length, 3, 'the other members stay');
    const rm = await inVm(lab, 'pumped-piglet', 105, etcdctl(`member remove ${oldFawnId}`));
    assert.equal(rm.exitcode, 1);
    assert.match(rm['err-data']!, /member not found/);

    const un = await inVm(lab, 'still-fawn', 108, 'systemctl stop k3s && /usr/local/bin/k3s-uninstall.sh && systemctl is-active k3s');
    assert.equal(un.exitcode, 3);
    assert.equal(un['out-data']!.split('\n').at(-2), 'inactive');
    assert.match(un['err-data']!, /^\+ /m);
    const gone = await inVm(lab, 'still-fawn', 108, 'test -e /usr/local/bin/k3s || test -e /var/lib/rancher/k3s/server/db/etcd || echo clean');
    assert.equal(gone['out-data'], 'clean\n');

    const tokenOut = await inVm(lab, 'pumped-piglet', 105, 'cat /var/lib/rancher/k3s/server/token');
    const token = tokenOut['out-data']!.trim();
    assert.match(token, /^K10[0-9a-f]{64}::server:[0-9a-f]{32}$/);
    const install = (version: string, tok: string) =>
      inVm(lab, 'still-fawn', 108, `curl -sfL ${lab.installScriptUrl} | INSTALL_K3S_VERSION=${version} K3S_URL=https://${piglet}:6443 K3S_TOKEN=${tok} sh -s - server --disable servicelb`, 300);

    const badVersion = await install('v1.99.0+k3s1', token);
    assert.notEqual(badVersion.exitcode, 0);
    assert.match(badVersion['err-data']!, /\[ERROR\] {2}Download failed/);

    const badToken = await install('v1.32.5+k3s1', token.replace(/:[0-9a-f]{32}$/, ':' + '0'.repeat(32)));
    assert.notEqual(badToken.exitcode, 0);
    const jr = await inVm(lab, 'still-fawn', 108, 'journalctl -u k3s --no-pager -n 20');
    assert.match(jr['out-data']!, /failed to validate token/);

    const good = await install('v1.32.5+k3s1', token);
    assert.equal(good.exitcode, 0, good['err-data']);
    assert.match(good['out-data']!, /\[INFO\] {2}systemd: Starting k3s\n$/);
    const unit = await inVm(lab, 'still-fawn', 108, 'cat /etc/systemd/system/k3s.service');
    assert.match(unit['out-data']!, /ExecStart=\/usr\/local\/bin\/k3s \\\n {4}server \\\n\t'--disable' \\\n\t'servicelb' \\\n/);

    const wait = await inVm(lab, 'pumped-piglet', 105, 'kubectl wait --for=condition=Ready node/k3s-vm-still-fawn --timeout=300s', 310);
    assert.equal(wait['out-data'], 'node/k3s-vm-still-fawn condition met\n');

    const members = await lab.etcdMembers();
    assert.equal(members.length, 4);
    assert.ok(members.every((m) => m.started && !m.isLearner));
    const fawn = members.find((m) => m.name.startsWith('k3s-vm-still-fawn-'))!;
    assert.notEqual(fawn.id, oldFawnId);
    assert.ok((await lab.endpointHealth()).every((e) => e.health));
    assert.equal((await lab.kubeNodes()).find((n) => n.name === 'k3s-vm-still-fawn')?.ready, 'True');

    const changes = lab.audit().filter((e) => e.change).map((e) => `${e.tool} ${e.argv.filter((a) => !a.startsWith('/')).join(' ')}`);
    for (const want of ['kubectl delete node k3s-vm-still-fawn', 'systemctl stop k3s', 'k3s-uninstall.sh ', 'install.sh server --disable servicelb']) {
      assert.ok(changes.some((c) => c.startsWith(want)), `audit lacks "${want}": ${changes.join(' | ')}`);
    }
    assert.ok(changes.some((c) => c.startsWith('etcdctl') && c.includes(`member remove ${oldFawnId}`)));
    assert.equal(lab.audit().filter((e) => e.tool === 'install.sh').length, 3);
    assert.ok(!fs.readFileSync(`${lab.dir}/audit.log`, 'utf8').includes(token.split(':').pop()!), 'the join token never reaches the audit log');
  });

  void test('reboot: sshd down, new boot_id, VM k3s back; IOMMU groups change', async () => {
    const before = (await sshExec(lab, 'fun-bedbug', 'cat /proc/sys/kernel/random/boot_id')).stdout;
    const rebooting = lab.reboot('fun-bedbug', { downMs: 1500, iommuGroups: 7 });
    await new Promise((r) => setTimeout(r, 500));
    await assert.rejects(sshExec(lab, 'fun-bedbug', 'true'), /ECONNREFUSED/);
    await rebooting;
    const after = await sshExec(lab, 'fun-bedbug', 'cat /proc/sys/kernel/random/boot_id; ls /sys/kernel/iommu_groups/ | wc -l');
    const [bootId, groups] = after.stdout.trim().split('\n');
    assert.notEqual(bootId + '\n', before);
    assert.equal(groups, '7');
    const deadline = Date.now() + 30_000;
    let state = '';
    while (Date.now() < deadline && state !== 'active') {
      const r = await sshExec(lab, 'fun-bedbug', `qm guest exec 106 -- bash -c 'systemctl is-active k3s'`);
      state = r.code === 0 ? (JSON.parse(r.stdout) as GuestResult)['out-data']!.trim() : r.stderr.trim();
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(state, 'active');
    await lab.setIommuGroups('fun-bedbug', 0);
    assert.equal((await sshExec(lab, 'fun-bedbug', 'ls /sys/kernel/iommu_groups/ | wc -l')).stdout, '0\n');
  });
});
