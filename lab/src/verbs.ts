// `npm run lab -- <verb>`: what a person does by hand on real hardware, done to the lab, so that a
// rehearsal's manual steps can be finished: move a disk between hosts, change VT-d in a host's
// "BIOS" (which reboots it), reboot or power a host off and on. Each verb checks its arguments and
// the lab first, says what it did, and reads the result back before it reports success.
import { InvalidArgumentError, type Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab } from './index';
import { alive } from './proc';
import { DEFAULT_IOMMU_GROUPS } from './topology';

const DEFAULT_DIR = path.join('.data', 'lab');

/** A running lab in `dir`, or a clear error. */
function runningLab(dir: string): Lab {
  if (!fs.existsSync(path.join(dir, 'lab.json'))) throw new Error(`no lab in ${path.resolve(dir)} (start one: npm start, or npm run lab -- up)`);
  const lab = Lab.attach(dir);
  if (lab.processes().length === 0) throw new Error(`the lab in ${lab.dir} is not running (npm start, or npm run lab -- up, brings it up)`);
  return lab;
}

function knownHost(lab: Lab, host: string): string {
  const hosts = Object.keys(lab.info.hosts);
  if (!hosts.includes(host)) throw new Error(`unknown lab host "${host}" (hosts: ${hosts.join(', ')})`);
  return host;
}

/** The host's sshd answers: it is powered on. */
function isOn(lab: Lab, host: string): boolean {
  return alive(lab.info.pids[`sshd:${host}`]);
}

/** IOMMU groups the host's kernel found at its last boot (what `ls /sys/kernel/iommu_groups` lists there). */
function iommuGroups(lab: Lab, host: string): number {
  const d = path.join(lab.dir, 'hosts', host, 'iommu_groups');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((e) => /^\d+$/.test(e)).length : 0;
}

function bootId(lab: Lab, host: string): string {
  return fs.readFileSync(path.join(lab.dir, 'hosts', host, 'boot_id'), 'utf8').trim();
}

const hostName = (v: string) => {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v)) throw new InvalidArgumentError('expected a host name, e.g. still-fawn');
  return v;
};
const serialNumber = (v: string) => {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(v)) throw new InvalidArgumentError('expected a disk serial number, e.g. ZFN1ABCD');
  return v;
};
const onOff = (v: string) => {
  if (v !== 'on' && v !== 'off') throw new InvalidArgumentError('expected on or off');
  return v;
};
const seconds = (v: string) => {
  if (!/^\d{1,3}$/.test(v)) throw new InvalidArgumentError('expected whole seconds, 0 to 999');
  return Number(v);
};

async function moveDisk(o: { dir: string; serial: string; to: string; hotSwap: boolean }): Promise<void> {
  const lab = runningLab(o.dir);
  const to = knownHost(lab, o.to);
  const disk = lab.pbs.diskBySerial(o.serial);
  if (!disk) throw new Error(`no disk with serial ${o.serial} in any lab host`);
  const from = disk.attachedTo;
  if (from === to) throw new Error(`the disk ${disk.byId} is already in ${to}`);
  if (disk.pool?.importedOn) {
    // pulling it now would leave the pool SUSPENDED on its host, as on real hardware: refuse instead
    throw new Error(`ZFS pool ${disk.pool.name} on ${disk.byId} is still imported on ${disk.pool.importedOn}: export it first (zpool export ${disk.pool.name})`);
  }
  const cycle = !o.hotSwap && isOn(lab, from);
  if (cycle) {
    console.log(`shutting down ${from} to take the disk out`);
    await lab.powerOff(from);
  }
  lab.pbs.moveDisk(disk.byId, to);
  console.log(`moved disk ${disk.byId} (pool ${disk.pool?.name ?? 'none'}) from ${from} to ${to}`);
  if (cycle) {
    await lab.powerOn(from);
    console.log(`${from} powered on again`);
  }
  // read back: the disk is attached to `to` and listed in its /dev/disk/by-id
  const now = lab.pbs.disk(disk.byId);
  const link = path.join(lab.dir, 'hosts', to, 'disk-by-id', disk.byId);
  if (now.attachedTo !== to || !fs.existsSync(path.dirname(link)) || !fs.readdirSync(path.dirname(link)).includes(disk.byId)) {
    throw new Error(`after the move the disk is attached to ${now.attachedTo} and ${to}'s /dev/disk/by-id does not list it`);
  }
  console.log(`${to} sees /dev/disk/by-id/${disk.byId} (/dev/${now.dev})`);
}

async function bios(o: { dir: string; host: string; vtd: 'on' | 'off'; down: number }): Promise<void> {
  const lab = runningLab(o.dir);
  const host = knownHost(lab, o.host);
  const was = iommuGroups(lab, host) > 0 ? 'on' : 'off';
  const before = bootId(lab, host);
  console.log(`${host}: into the BIOS setup, VT-d ${was} → ${o.vtd}, save and reboot`);
  // VT-d is read at boot: the kernel finds IOMMU groups (DMAR tables) only when the firmware enables it
  await lab.reboot(host, { downMs: o.down * 1000, iommuGroups: o.vtd === 'on' ? DEFAULT_IOMMU_GROUPS : 0 });
  const groups = iommuGroups(lab, host);
  if (bootId(lab, host) === before || (groups > 0) !== (o.vtd === 'on') || !isOn(lab, host)) {
    throw new Error(`${host} did not come back with VT-d ${o.vtd}: ${groups} IOMMU groups, ${isOn(lab, host) ? 'up' : 'down'}`);
  }
  console.log(`${host} is up again with ${groups} IOMMU groups`);
}

async function reboot(o: { dir: string; host: string; down: number }): Promise<void> {
  const lab = runningLab(o.dir);
  const host = knownHost(lab, o.host);
  if (!isOn(lab, host)) throw new Error(`${host} is powered off: npm run lab -- power-on ${host}`);
  const before = bootId(lab, host);
  console.log(`rebooting ${host} (down for ${o.down} s)`);
  await lab.reboot(host, { downMs: o.down * 1000 });
  if (bootId(lab, host) === before || !isOn(lab, host)) throw new Error(`${host} did not come back`);
  console.log(`${host} is up again (boot id ${bootId(lab, host)})`);
}

async function power(o: { dir: string; host: string }, state: 'on' | 'off'): Promise<void> {
  const lab = runningLab(o.dir);
  const host = knownHost(lab, o.host);
  if (isOn(lab, host) === (state === 'on')) throw new Error(`${host} is already powered ${state}`);
  if (state === 'off') await lab.powerOff(host);
  else await lab.powerOn(host);
  if (isOn(lab, host) !== (state === 'on')) throw new Error(`${host} did not power ${state}`);
  console.log(`${host} powered ${state}${state === 'off' ? ' (its VMs with it)' : ' (its VMs started)'}`);
}

/** Adds the manual-step verbs to `npm run lab`. */
export function registerVerbs(program: Command): void {
  program
    .command('move-disk')
    .description('move a disk, found by its serial, into another host (the pool on it must be exported); its host is shut down and powered on again around the move unless --hot-swap')
    .requiredOption('--serial <serial>', 'serial number of the disk (as in /dev/disk/by-id), e.g. ZFN1ABCD', serialNumber)
    .requiredOption('--to <host>', 'the host the disk goes into, e.g. still-fawn', hostName)
    .option('--hot-swap', 'hot-swap bays: leave both hosts running', false)
    .option('--dir <dir>', 'lab directory', DEFAULT_DIR)
    .action(moveDisk);

  program
    .command('bios')
    .description("change VT-d in a host's BIOS setup: the host reboots, and comes back with IOMMU groups (on) or none (off)")
    .argument('<host>', 'the Proxmox host, e.g. still-fawn', hostName)
    .requiredOption('--vtd <on|off>', 'VT-d (Intel Virtualization Technology for Directed I/O)', onOff)
    .option('--down <seconds>', 'how long the host stays down', seconds, 3)
    .option('--dir <dir>', 'lab directory', DEFAULT_DIR)
    .action((host: string, o: { dir: string; vtd: 'on' | 'off'; down: number }) => bios({ ...o, host }));

  program
    .command('reboot')
    .description('reboot a host: sshd and its VMs go down, a new boot id, then everything back')
    .argument('<host>', 'the Proxmox host, e.g. still-fawn', hostName)
    .option('--down <seconds>', 'how long the host stays down', seconds, 3)
    .option('--dir <dir>', 'lab directory', DEFAULT_DIR)
    .action((host: string, o: { dir: string; down: number }) => reboot({ ...o, host }));

  for (const state of ['off', 'on'] as const) {
    program
      .command(`power-${state}`)
      .description(state === 'off' ? 'power a host off (sshd and its VMs down) until power-on' : 'power a host on: sshd up, its VMs started')
      .argument('<host>', 'the Proxmox host, e.g. still-fawn', hostName)
      .option('--dir <dir>', 'lab directory', DEFAULT_DIR)
      .action((host: string, o: { dir: string }) => power({ ...o, host }, state));
  }
}
