// The whole homelab's power: off (every process of the lab gone, its state kept: disks, configs, etcd
// data, keys, audit log) and on again from its files, the same homelab as before (same subnet and
// addresses, host keys, certificates, members), as a machine reboot or a restart of the main job.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostGuests, poweredOffMarker } from './faults';
import { FRIGATE_API_PORT, FRIGATE_VM_SSHD, frigateVm, startFrigateApi } from './frigate';
import { startVmSshd } from './vm-sshd';
import { startHttpd } from './http';
import { CT_MOUNTS } from './lxc';
import { killAll, portFree } from './proc';
import { startSshd, writeSshdConfig } from './sshd';
import { readJsonOr, readLabJson, updateLabJson } from './state';
import { HTTP_HOST_OCTET, HTTP_PORT, SSH_PORT, STANDINS_DIR, type LabJson } from './topology';

/** Empty directories on the machine that the lab's namespaces bind over (gone after a reboot for /run, /dev). */
export const MACHINE_MOUNT_POINTS = ['/var/lib/rancher', '/etc/rancher', '/run/sshd', '/var/lib/frigate', '/dev/disk/by-id', '/etc/pve', ...CT_MOUNTS];

/** A lab in `dir` that finished building (Lab.start writes `builtAt` last): one power-on can bring back. */
export function isBuiltLab(dir: string): boolean {
  return Boolean(readJsonOr<Partial<LabJson>>(path.join(dir, 'lab.json'), {}).builtAt);
}

/** Every process of the lab killed (they all carry LAB_DIR; sshd is found by its -f path). */
export async function killLab(dir: string): Promise<void> {
  const l = readJsonOr<Partial<LabJson>>(path.join(dir, 'lab.json'), {});
  await killAll({ LAB_DIR: dir }, Object.values(l.pids ?? {}), `-f ${dir}/hosts/`);
}

/** Every process of the lab killed at once (a power loss); every guest marked stopped, its volatile state gone. */
export async function powerOffLab(dir: string): Promise<void> {
  await killLab(dir);
  const l = readJsonOr<Partial<LabJson>>(path.join(dir, 'lab.json'), {});
  if (!l.builtAt) return;
  await Promise.all(Object.keys(l.hosts ?? {}).map((h) => hostGuests(dir, 'stopall', h)));
  updateLabJson(dir, (j) => (j.pids = {}));
}

/** The addresses and ports the lab listens on; all fixed by its subnet (certificates and known_hosts name them). */
function listenPorts(l: LabJson): [string, number][] {
  const out: [string, number][] = [[`${l.subnet}.${HTTP_HOST_OCTET}`, HTTP_PORT]];
  for (const h of Object.values(l.hosts)) out.push([h.address, h.port]);
  for (const vm of l.vms) for (const p of [2379, 2380, 2381, FRIGATE_API_PORT]) out.push([vm.address, p]);
  out.push([frigateVm(l).address, SSH_PORT]);
  return out;
}

/**
 * Power on a built lab: whatever of it still runs is killed first (a power cycle: a `kill -9` of the main
 * job leaves the lab's detached daemons alive), then the web server, every host's sshd, Frigate's API
 * daemon, and every host boots its guests (lab/standins/lib/hostboot.js: onboot VMs and CTs, k3s where
 * it is enabled, so etcd members restart from their data). Never moves the lab to another subnet.
 */
export async function powerOnLab(dir: string): Promise<void> {
  const l = readLabJson(dir);
  if (path.resolve(l.dir) !== dir || path.resolve(l.standins) !== STANDINS_DIR) {
    throw new Error(`the lab in ${dir} was built for ${l.dir} with stand-ins in ${l.standins}: start a new one (npm run lab -- reset)`);
  }
  await powerOffLab(dir);
  const taken: string[] = [];
  await Promise.all(listenPorts(l).map(async ([a, p]) => (await portFree(a, p)) || taken.push(`${a}:${p}`)));
  if (taken.length) {
    throw new Error(
      `cannot power on the lab in ${dir}: ${taken.sort().join(', ')} in use by another process. The lab's subnet ${l.subnet}.x is fixed ` +
        `(its host keys, known_hosts and etcd certificates name these addresses): stop what listens there, or start a new lab (npm run lab -- reset)`,
    );
  }
  for (const p of MACHINE_MOUNT_POINTS) fs.mkdirSync(p, { recursive: true });
  const pids: Record<string, number> = {};
  pids.httpd = await startHttpd(dir, `${l.subnet}.${HTTP_HOST_OCTET}`);
  updateLabJson(dir, (j) => (j.pids = { ...pids }));
  // a host powered off on its own (lab.powerOff, `npm run lab -- power-off`) stays off until its own power-on
  const hosts = Object.keys(l.hosts).filter((h) => !fs.existsSync(poweredOffMarker(dir, h)));
  await Promise.all(
    hosts.map(async (h) => {
      const { address, port } = l.hosts[h]!;
      if (port !== SSH_PORT) throw new Error(`lab host ${h}: port ${port} is not the lab's ${SSH_PORT}`);
      fs.writeFileSync(path.join(dir, 'hosts', h, 'boot_id'), crypto.randomUUID() + '\n');
      writeSshdConfig(dir, h, address);
      pids[`sshd:${h}`] = await startSshd(dir, h, address);
    }),
  );
  pids['frigate-api'] = startFrigateApi(dir);
  pids[FRIGATE_VM_SSHD] = await startVmSshd(dir, frigateVm(l));
  updateLabJson(dir, (j) => (j.pids = { ...pids }));
  for (const h of hosts) await hostGuests(dir, 'startall', h);
}
