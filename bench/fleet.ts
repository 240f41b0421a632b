// A fleet of N lab-style Proxmox hosts for the fan-out benchmark: one real sshd per host on its own
// loopback address (127.x.y.1..N, port 2222) with its own host key, started with the lab's own
// recipe (lab/src/sshd.ts: `unshare -m` with an empty /root/.bashrc, the host-shell.sh ForceCommand).
// Every process carries LAB_DIR=<dir>, so stop() (and the exit handler) finds and kills them all.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { setIommuGroups } from '../lab/src/faults';
import { sshKeygen } from '../lab/src/pki';
import { findPids, killAll, portFree } from '../lab/src/proc';
import { hostKeyPath, startSshd, writeSshdConfig } from '../lab/src/sshd';
import { SSH_PORT } from '../lab/src/topology';

export interface Fleet {
  dir: string;
  hosts: string[];
  inventoryPath: string;
  /** Ansible inventory lines' data. */
  addresses: Record<string, string>;
  clientKeyPath: string;
  knownHostsPath: string;
  stop(): Promise<void>;
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
  }));
}

async function pickSubnet(n: number): Promise<string> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const subnet = `127.${200 + crypto.randomInt(50)}.${crypto.randomInt(256)}`;
    const free = await Promise.all(Array.from({ length: n }, (_, i) => portFree(`${subnet}.${i + 1}`, SSH_PORT)));
    if (free.every(Boolean)) return subnet;
  }
  throw new Error('no free 127.x.y subnet for the fleet');
}

export async function startFleet(n: number): Promise<Fleet> {
  if (n < 1 || n > 250) throw new Error('fleet size must be 1..250');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-'));
  const pids: number[] = [];
  const stopSync = () => {
    for (let i = 0; i < 5; i++) {
      const left = findPids({ LAB_DIR: dir }, `-f ${dir}/hosts/`);
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  const stop = async () => {
    process.removeListener('exit', stopSync);
    await killAll({ LAB_DIR: dir }, pids, `-f ${dir}/hosts/`);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const subnet = await pickSubnet(n);
    const hosts = Array.from({ length: n }, (_, i) => `fleet-${String(i + 1).padStart(2, '0')}`);
    const addresses = Object.fromEntries(hosts.map((h, i) => [h, `${subnet}.${i + 1}`]));
    for (const d of ['ssh', 'bin']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const h of hosts) {
      fs.mkdirSync(path.join(dir, 'hosts', h), { recursive: true });
      fs.writeFileSync(path.join(dir, 'hosts', h, 'boot_id'), crypto.randomUUID() + '\n');
      setIommuGroups(dir, h, 8);
    }
    const clientKeyPath = path.join(dir, 'ssh', 'id_ed25519');
    const clientPub = await sshKeygen(clientKeyPath, 'bench-client');
    fs.writeFileSync(path.join(dir, 'ssh', 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
    const hostPubs: Record<string, string> = {};
    await pool(hosts, 8, async (h) => (hostPubs[h] = await sshKeygen(hostKeyPath(dir, h), `root@${h}`)));
    const knownHostsPath = path.join(dir, 'ssh', 'known_hosts');
    fs.writeFileSync(
      knownHostsPath,
      hosts.map((h) => `[${addresses[h]}]:${SSH_PORT} ${hostPubs[h]!.split(' ').slice(0, 2).join(' ')}\n`).join(''),
    );
    await pool(hosts, 10, async (h) => {
      writeSshdConfig(dir, h, addresses[h]!);
      pids.push(await startSshd(dir, h, addresses[h]!));
    });
    const inventoryPath = path.join(dir, 'inventory.yaml');
    fs.writeFileSync(
      inventoryPath,
      stringify({
        ssh: { user: 'root', privateKeyPath: clientKeyPath, knownHostsPath },
        hosts: Object.fromEntries(hosts.map((h) => [h, { address: addresses[h], port: SSH_PORT }])),
        k3s: { nodes: {} },
        approvers: ['bench'],
        approvals: { identity: 'names' },
      }),
    );
    return { dir, hosts, inventoryPath, addresses, clientKeyPath, knownHostsPath, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
