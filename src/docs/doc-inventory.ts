// The inventory the generated docs render commands with: every value a homelab sets is a placeholder
// (src/docs/placeholders.ts), everything the schema defaults (etcd TLS paths, the install script URL,
// Frigate's namespace and devices, the PBS port) is the schema's own default, so the docs show what
// runs unless the inventory says otherwise.
import { inventorySchema, type Inventory } from '../inventory/schema';
import { fingerprint, id, ip, path, word } from './placeholders';

/** The placeholders the templates use, one per value. */
export const P = {
  node: word('node'),
  host: word('host'),
  vmid: id('vmid'),
  healthyNode: word('healthy node'),
  healthyHost: word('healthy host'),
  healthyAddress: ip('healthy node address'),
  staleMemberId: word('staleMemberId'),
  version: word('cluster version'),
  serverFlags: word('server flags'),
  jobKey: word('install job key'),
  // Phase 2
  from: word('old host'),
  to: word('new host'),
  toAddress: word('new host address'),
  pveStorage: word('pve storage'),
  datastore: word('datastore'),
  datastorePath: path('datastore path'),
  pool: word('pool'),
  diskSerial: word('disk serial'),
  backupJob: word('backup job'),
  pbsJob: word('job id'),
  schedule: word('schedule'),
  gcSchedule: word('gc-schedule'),
  authId: word('user'),
  role: word('role'),
  fingerprint: fingerprint('new host fingerprint'),
  // Phase 3 and 4
  frigateNode: word('frigate node'),
  lxcHost: word('lxc host'),
  ctid: id('ctid'),
  recordings: word('recording files'),
  manifestDigest: word('digest'),
  windowStart: id('window start'),
  windowEnd: id('window end'),
  labDir: path('lab dir'),
} as const;

export const docInventory: Inventory = inventorySchema.parse({
  ssh: { knownHostsPath: '/known_hosts' },
  approvers: ['approver'],
  approvals: { identity: 'names' },
  hosts: {
    [P.host]: { address: word('host address') },
    [P.healthyHost]: { address: word('healthy host address') },
    [P.from]: { address: word('old host address') },
    [P.to]: { address: P.toAddress },
    [P.lxcHost]: { address: word('lxc host address') },
  },
  k3s: {
    nodes: {
      [P.node]: { host: P.host, vmid: P.vmid, address: ip('node address'), gpuPassthrough: true },
      [P.healthyNode]: { host: P.healthyHost, vmid: id('healthy vmid'), address: P.healthyAddress },
    },
  },
  pbs: { from: P.from, to: P.to, pveStorage: P.pveStorage, datastore: P.datastore, datastorePath: P.datastorePath, pool: P.pool, diskSerial: P.diskSerial },
  frigate: { node: P.frigateNode, lxc: { host: P.lxcHost, ctid: P.ctid } },
});
