// One command on a lab host over real SSH (ssh2), the host key pinned from the lab's known_hosts, as
// the runbooks' executor reaches a Proxmox host; for tests that drive the lab's stand-ins by hand.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Client } from 'ssh2';
import type { Lab } from '../../lab/src/index';

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** known_hosts "[addr]:port ssh-ed25519 AAAA..." -> the key blob to pin. */
function pinnedKey(knownHosts: string, host: string, port: number): Buffer {
  const line = fs
    .readFileSync(knownHosts, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`[${host}]:${port} `));
  assert.ok(line, `no known_hosts entry for [${host}]:${port}`);
  return Buffer.from(line.split(' ')[2]!, 'base64');
}

/** Runs `command` on `host`; `input`, when given, is its stdin. */
export function sshExec(lab: Lab, host: string, command: string, input?: string): Promise<Exec> {
  const h = lab.info.hosts[host]!;
  const pin = pinnedKey(lab.knownHostsPath, h.address, h.port);
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn
      .on('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err) return reject(err);
          let stdout = '';
          let stderr = '';
          stream.on('data', (d: Buffer) => (stdout += d.toString()));
          stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          stream.on('close', (code: number | null) => {
            conn.end();
            resolve({ code, stdout, stderr });
          });
          if (input !== undefined) stream.end(input);
        });
      })
      .on('error', reject)
      .connect({
        host: h.address,
        port: h.port,
        username: 'root',
        privateKey: fs.readFileSync(lab.clientKeyPath),
        hostVerifier: (key: Buffer) => key.equals(pin),
        readyTimeout: 10_000,
      });
  });
}
