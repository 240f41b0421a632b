// The lab's fixed topology (SPEC.md "Topology") and the shape of lab.json, which the stand-ins read.
import * as path from 'node:path';
import { LAB_DIR } from './lab-dir';

export const K3S_VERSION = 'v1.32.5+k3s1';
export const K3S_COMMIT = '8e8f2a47';
export const GO_VERSION = 'go1.23.8';
export const SSH_PORT = 2222;
export const HTTP_HOST_OCTET = 250;
export const HTTP_PORT = 8080;

export interface HostDef {
  name: string;
  octet: number;
  vmid: number;
  node: string;
  nodeOctet: number;
  gpuPassthrough: boolean;
}

export const HOSTS: HostDef[] = [
  { name: 'pumped-piglet', octet: 1, vmid: 105, node: 'k3s-vm-pumped-piglet', nodeOctet: 11, gpuPassthrough: false },
  { name: 'still-fawn', octet: 2, vmid: 108, node: 'k3s-vm-still-fawn', nodeOctet: 12, gpuPassthrough: true },
  { name: 'fun-bedbug', octet: 3, vmid: 106, node: 'k3s-vm-fun-bedbug', nodeOctet: 13, gpuPassthrough: false },
  { name: 'pve', octet: 4, vmid: 107, node: 'k3s-vm-pve', nodeOctet: 14, gpuPassthrough: false },
];
/** The server that ran --cluster-init. */
export const FIRST_HOST = 'pumped-piglet';
/** The node that was away three weeks (SPEC "Start state"). */
export const STALE_HOST = 'still-fawn';
export const DEFAULT_IOMMU_GROUPS = 42;

export interface LabVm {
  vmid: number;
  host: string;
  node: string;
  address: string;
}

/** One more K3s server VM on an existing Proxmox host (e.g. `k3s-vm-pve-2`, VM 109 on pve). */
export interface ExtraNode {
  host: string;
  vmid: number;
  node: string;
}

/** The VMs of a lab: one per host of the fixed topology, then the extra ones (node addresses .21, .22...). */
export function labVms(subnet: string, extra: ExtraNode[] = []): LabVm[] {
  const vms: LabVm[] = HOSTS.map((h) => ({ vmid: h.vmid, host: h.name, node: h.node, address: nodeAddress(subnet, h) }));
  extra.forEach((x, i) => {
    if (!HOSTS.some((h) => h.name === x.host)) throw new Error(`extra node ${x.node}: unknown lab host "${x.host}"`);
    if (vms.some((v) => v.node === x.node || (v.host === x.host && v.vmid === x.vmid))) throw new Error(`extra node ${x.node}: name or VM id taken`);
    vms.push({ vmid: x.vmid, host: x.host, node: x.node, address: `${subnet}.${21 + i}` });
  });
  return vms;
}

export interface LabJson {
  version: 1;
  dir: string;
  subnet: string;
  standins: string;
  k3sVersion: string;
  k3sCommit: string;
  goVersion: string;
  token: string;
  httpBase: string;
  installScriptUrl: string;
  /** The guest agent answers this long after a VM boots. */
  agentBootMs: number;
  /** `qm guest exec` polls the agent this often while a command runs (the real qm: 1000 ms). */
  agentPollMs?: number;
  /** systemd RestartSec of the k3s unit. */
  restartSec: number;
  hosts: Record<string, { address: string; port: number }>;
  vms: LabVm[];
  /** Long-running processes the lab started itself (sshd per host, httpd). */
  pids: Record<string, number>;
  /** Set once the lab is fully built (lab/src/power.ts): only such a lab is powered on again. */
  builtAt?: string;
}

export const STANDINS_DIR = path.join(LAB_DIR, 'standins');

export function hostAddress(subnet: string, h: HostDef): string {
  return `${subnet}.${h.octet}`;
}

export function nodeAddress(subnet: string, h: HostDef): string {
  return `${subnet}.${h.nodeOctet}`;
}
