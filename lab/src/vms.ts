// Lab VMs: their directories, running a command inside one (the VM namespace), installing K3s with
// the lab's install.sh, forming the etcd cluster, and making still-fawn stale (SPEC "Start state").
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, runOk, type RunResult } from './proc';
import { vmDir } from './state';
import { K3S_VERSION, STANDINS_DIR, type LabJson, type LabVm } from './topology';

const VM_ENTER = path.join(STANDINS_DIR, 'lib', 'vm-enter.sh');
const TLS = 'var/lib/rancher/k3s/server/tls/etcd';

export function prepareVm(labDir: string, vm: LabVm): void {
  const d = vmDir(labDir, vm.host, vm.vmid);
  for (const p of ['var/lib/rancher', 'etc/rancher', 'usr/local/bin', 'etc/systemd/system', 'var/log']) {
    fs.mkdirSync(path.join(d, 'fs', p), { recursive: true });
  }
  fs.mkdirSync(path.join(d, 'run', 'tmpfs'), { recursive: true });
  fs.writeFileSync(path.join(d, 'hostname'), vm.node + '\n');
  fs.writeFileSync(path.join(d, 'boot_id'), crypto.randomUUID() + '\n');
  // Booted long ago: the guest agent answers at once.
  const bootedAt = new Date(Date.now() - 86_400_000).toISOString();
  fs.writeFileSync(path.join(d, 'vm.json'), JSON.stringify({ status: 'running', agent: true, bootedAt }, null, 2) + '\n');
}

/** Run a command inside a VM as the lab itself (not audited: the lab is not an operator). */
export function inVm(labDir: string, vm: LabVm, cmd: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(VM_ENTER, [labDir, vm.host, String(vm.vmid), '--', ...cmd], {
    env: { ...process.env, ...env, LAB_DIR: labDir, LAB_HOST: vm.host, LAB_VM: String(vm.vmid), LAB_NO_AUDIT: '1' },
  });
}

async function inVmOk(labDir: string, vm: LabVm, cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await inVm(labDir, vm, cmd, env);
  if (r.code !== 0) throw new Error(`in VM ${vm.vmid}: ${cmd.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The same install line an operator runs, without starting the service yet. */
export function installK3s(labDir: string, l: LabJson, vm: LabVm, first: LabVm, opts: { pinNodeFlags?: boolean; extraArgs?: string } = {}): Promise<string> {
  const pinned = opts.pinNodeFlags ? ` --node-name ${vm.node} --node-ip ${vm.address}` : '';
  const extra = opts.extraArgs ? ` ${opts.extraArgs}` : ''; // words for sh, as an operator types them after `sh -s -`
  const args = (vm === first ? 'server --cluster-init --disable servicelb' : `server --server https://${first.address}:6443 --disable servicelb`) + pinned + extra;
  const token = vm === first ? '' : `K3S_TOKEN='${l.token}' `;
  const line = `curl -sfL ${l.installScriptUrl} | INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION=${K3S_VERSION} ${token}sh -s - ${args}`;
  return inVmOk(labDir, vm, ['bash', '-c', line]);
}

/** All members form one cluster at once (quicker than four sequential joins, same end state). */
export async function formCluster(labDir: string, l: LabJson): Promise<void> {
  const names = l.vms.map((vm) => `${vm.node}-${crypto.randomBytes(4).toString('hex')}`);
  l.vms.forEach((vm, i) => {
    const db = path.join(vmDir(labDir, vm.host, vm.vmid), 'fs', 'var/lib/rancher/k3s/server/db/etcd');
    fs.mkdirSync(db, { recursive: true });
    fs.writeFileSync(path.join(db, 'name'), names[i]!);
  });
  const initial = l.vms.map((vm, i) => `${names[i]}=https://${vm.address}:2380`).join(',');
  await Promise.all(l.vms.map((vm) => inVmOk(labDir, vm, ['systemctl', 'start', 'k3s'], { LAB_K3S_BOOTSTRAP: initial })));
}

/**
 * still-fawn after three weeks away and a VM reinstall: its member is still listed, its etcd is
 * down, its disk has the old member's data but certificates from an old CA, so its k3s service
 * stays `activating` and logs `tls: certificate required`.
 */
export async function makeStale(labDir: string, vm: LabVm): Promise<void> {
  await inVmOk(labDir, vm, ['systemctl', 'stop', 'k3s']);
  const tls = path.join(vmDir(labDir, vm.host, vm.vmid), 'fs', TLS);
  const old = path.join(labDir, 'pki', 'old');
  const copy = (from: string, to: string) => fs.copyFileSync(path.join(old, from), path.join(tls, to));
  copy('ca.crt', 'server-ca.crt');
  copy('ca.crt', 'peer-ca.crt');
  copy('client.crt', 'client.crt');
  copy('client.key', 'client.key');
  for (const f of ['server-client', 'peer-server-client']) {
    copy(`${vm.node}/${f}.crt`, `${f}.crt`);
    copy(`${vm.node}/${f}.key`, `${f}.key`);
  }
  await inVmOk(labDir, vm, ['systemctl', '--no-block', 'start', 'k3s']);
}

export async function vmctl(labDir: string, verb: 'start' | 'stop', vm: LabVm): Promise<void> {
  await runOk(process.execPath, [path.join(STANDINS_DIR, 'lib', 'vmctl.js'), verb, vm.host, String(vm.vmid)], {
    env: { ...process.env, LAB_DIR: labDir },
  });
}

/** The cluster has existed for months; still-fawn's kubelet last posted status three weeks ago. */
export function ageKubeNodes(labDir: string, stale: LabVm): void {
  const dir = path.join(labDir, 'kube', 'nodes');
  const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d+Z$/, 'Z');
  for (const f of fs.readdirSync(dir)) {
    const file = path.join(dir, f);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { metadata: { name: string; creationTimestamp: string }; lab: { heartbeat: string } };
    rec.metadata.creationTimestamp = iso(120 * 86_400_000);
    if (rec.metadata.name === stale.node) rec.lab.heartbeat = iso(21 * 86_400_000);
    fs.writeFileSync(file, JSON.stringify(rec, null, 2) + '\n');
  }
}

function vmOf(vms: LabVm[], node: string): LabVm {
  const vm = vms.find((v) => v.node === node);
  if (!vm) throw new Error(`unknown lab node "${node}"`);
  return vm;
}

/** A node's own /etc/rancher/k3s/config.yaml (K3s reads it at every start; k3s-uninstall.sh deletes it). */
export function writeConfigYaml(labDir: string, vms: LabVm[], node: string, text: string): void {
  const vm = vmOf(vms, node);
  const dir = path.join(vmDir(labDir, vm.host, vm.vmid), 'fs', 'etc/rancher/k3s');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), text, { mode: 0o600 });
}

/** A server whose k3s service is down: its member stays listed (dead), its node goes NotReady. */
export async function stopK3s(labDir: string, vms: LabVm[], node: string): Promise<void> {
  await inVmOk(labDir, vmOf(vms, node), ['systemctl', 'stop', 'k3s']);
}

/** The k3s service of a node started again (as `systemctl start k3s` in its VM, not audited). */
export async function startK3s(labDir: string, vms: LabVm[], node: string): Promise<void> {
  await inVmOk(labDir, vmOf(vms, node), ['systemctl', 'start', 'k3s']);
}
