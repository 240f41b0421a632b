// Fault injection: IOMMU groups of a host, and a host reboot (sshd down, guests powered off and their
// volatile state gone, new boot_id, then sshd back and the guests with onboot started, k3s where it is
// enabled: lab/standins/lib/hostboot.js, Proxmox's startall).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killAll, runOk, sleep } from './proc';
import { startSshd } from './sshd';
import { readLabJson, updateLabJson } from './state';
import { STANDINS_DIR } from './topology';

export function setIommuGroups(labDir: string, host: string, n: number): void {
  const dir = path.join(labDir, 'hosts', host, 'iommu_groups');
  if (!fs.existsSync(path.dirname(dir))) throw new Error(`unknown lab host "${host}"`);
  fs.mkdirSync(dir, { recursive: true });
  for (const e of fs.readdirSync(dir)) if (!/^\d+$/.test(e) || Number(e) >= n) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  for (let i = 0; i < n; i++) fs.mkdirSync(path.join(dir, String(i)), { recursive: true });
}

export interface RebootOptions {
  /** How long the host stays down (sshd refuses connections). Default 3000. */
  downMs?: number;
  /** Set the host's IOMMU group count while it is down (e.g. passthrough turned on/off). */
  iommuGroups?: number;
}

export async function reboot(labDir: string, host: string, opts: RebootOptions = {}): Promise<void> {
  await powerOff(labDir, host, opts);
  await sleep(opts.downMs ?? 3000);
  await powerOn(labDir, host);
}

/** The first half of a reboot: the host goes down and stays down until powerOn(). */
export async function powerOff(labDir: string, host: string, opts: Pick<RebootOptions, 'iommuGroups'> = {}): Promise<void> {
  const l = readLabJson(labDir);
  if (!l.hosts[host]) throw new Error(`unknown lab host "${host}"`);
  const sshdPid = l.pids[`sshd:${host}`];
  // Everything of this host dies at once: sshd, sessions, VM services, etcd members, guest jobs.
  await killAll({ LAB_DIR: labDir, LAB_HOST: host }, sshdPid ? [sshdPid] : [], `-f ${labDir}/hosts/${host}/sshd_config`);
  await hostGuests(labDir, 'stopall', host);
  fs.writeFileSync(poweredOffMarker(labDir, host), new Date().toISOString() + '\n'); // stays off through a power-on of the whole lab
  fs.writeFileSync(path.join(labDir, 'hosts', host, 'boot_id'), crypto.randomUUID() + '\n');
  if (opts.iommuGroups !== undefined) setIommuGroups(labDir, host, opts.iommuGroups);
}

/** Present while a host is powered off on its own (lab.powerOff), until its powerOn. */
export function poweredOffMarker(labDir: string, host: string): string {
  return path.join(labDir, 'hosts', host, 'powered-off');
}

/** A host's guests at power loss (`stopall`: all stop) or at boot (`startall`: those with onboot). */
export async function hostGuests(labDir: string, verb: 'startall' | 'stopall', host: string): Promise<void> {
  await runOk(process.execPath, [path.join(STANDINS_DIR, 'lib', 'hostboot.js'), verb, host], { env: { ...process.env, LAB_DIR: labDir } });
}

/** A VM's `onboot` (qemu-server's default is 0; the lab's VMs are set to 1, as a homelab's K3s VMs are). */
export function setOnboot(labDir: string, host: string, vmid: number, on: boolean): void {
  const file = path.join(labDir, 'hosts', host, 'vms', String(vmid), 'vm.json');
  const vm = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...vm, onboot: on ? 1 : 0 }, null, 2) + '\n');
}

/** The second half of a reboot: sshd up again, the host's guests with onboot started (k3s where it is enabled). */
export async function powerOn(labDir: string, host: string): Promise<void> {
  const l = readLabJson(labDir);
  if (!l.hosts[host]) throw new Error(`unknown lab host "${host}"`);
  fs.rmSync(poweredOffMarker(labDir, host), { force: true });
  const pid = await startSshd(labDir, host, l.hosts[host].address);
  updateLabJson(labDir, (j) => {
    j.pids[`sshd:${host}`] = pid;
  });
  await hostGuests(labDir, 'startall', host);
}

/** Fault: the next invocation of stand-in `tool` (argv containing `match`, if given) sleeps `ms`, once. */
export function hangOnce(labDir: string, tool: string, ms: number, match?: string): void {
  fs.mkdirSync(path.join(labDir, 'faults'), { recursive: true });
  fs.writeFileSync(path.join(labDir, 'faults', `hang-${tool}`), JSON.stringify({ ms, match }));
}

/** Fault: every SSH session to every host starts `ms` later (0: off). */
export function delaySessions(labDir: string, ms: number): void {
  const file = path.join(labDir, 'faults', 'session-delay');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (ms > 0) fs.writeFileSync(file, (ms / 1000).toFixed(3));
  else fs.rmSync(file, { force: true });
}
