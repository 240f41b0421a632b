// The floor: the same commands over warm ssh2 connections, no orchestration, no pool, no timers.
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import type { Inventory } from '../src/inventory/schema';
import { fingerprintOf, hostKeyPolicy, parseKnownHosts } from '../src/activities/exec/host-keys';

export interface RawHost {
  name: string;
  client: Client;
}

/** One connection per host, host key checked against the inventory's known_hosts. */
export async function connectRaw(inv: Inventory, names: string[]): Promise<RawHost[]> {
  const key = readFileSync(inv.ssh.privateKeyPath!);
  const known = parseKnownHosts(readFileSync(inv.ssh.knownHostsPath!, 'utf8'));
  return Promise.all(
    names.map(
      (name) =>
        new Promise<RawHost>((resolve, reject) => {
          const h = inv.hosts[name]!;
          const policy = hostKeyPolicy({ host: name, address: h.address, port: h.port, knownHosts: known });
          const client = new Client();
          client.once('ready', () => {
            client.setNoDelay(true);
            resolve({ name, client });
          });
          client.once('error', reject);
          client.connect({
            host: h.address,
            port: h.port,
            username: inv.ssh.user,
            privateKey: key,
            readyTimeout: 30_000,
            hostVerifier: (k: Buffer) => policy.expected.includes(fingerprintOf(k)),
          });
        }),
    ),
  );
}

export function execRaw(client: Client, command: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      let code: number | null = null;
      ch.on('data', () => undefined);
      ch.stderr.on('data', () => undefined);
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => (code === 0 ? resolve(code) : reject(new Error(`\`${command}\` exited ${code}`))));
    });
  });
}

/** Every command in order on each host; hosts in parallel. */
export async function runRaw(hosts: RawHost[], commands: string[]): Promise<void> {
  await Promise.all(
    hosts.map(async (h) => {
      for (const c of commands) await execRaw(h.client, c);
    }),
  );
}

export function closeRaw(hosts: RawHost[]): void {
  for (const h of hosts) h.client.end();
}
