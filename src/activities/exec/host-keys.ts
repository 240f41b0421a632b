// Host-key pinning: known_hosts parsing and the verdict on the key a server presents.
// Never accept an unknown key; a mismatch or an unknown host is a non-retryable failure.
import { createHash, createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  /** The host field as written: patterns `a,b,[c]:2222` or a hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
  line: number;
}

/** Parses OpenSSH known_hosts text; blank, comment and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) return;
    entries.push({ marker, hosts, keyType, key: Buffer.from(b64, 'base64'), line: i + 1 });
  });
  return entries;
}

/** How OpenSSH names a host in known_hosts: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostName(address: string, port: number): string {
  return port === 22 ? address.toLowerCase() : `[${address.toLowerCase()}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** Does this entry's host field name `name` (already in `knownHostName` form)? */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (globToRegExp(negated ? pattern.slice(1) : pattern).test(name)) {
      if (negated) return false; // a matching negation wins, as in OpenSSH
      matched = true;
    }
  }
  return matched;
}

/** OpenSSH fingerprint of a public key blob: `SHA256:<base64 without padding>`. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** ssh2's `hostHash: 'sha256'` hands out hex; this is the same hash as OpenSSH prints it. */
export function hexToOpenSshFingerprint(hex: string): string {
  return `SHA256:${Buffer.from(hex, 'hex').toString('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, ...). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

const DEFAULT_HOST_KEY_ALGOS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
  'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];
const ALGOS_FOR_KEY_TYPE: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export interface HostKeyPolicy {
  /** Inventory host name, for messages. */
  host: string;
  address: string;
  port: number;
  /** Any one of these fingerprints is accepted. */
  expected: string[];
  revoked: string[];
  /** Host-key algorithms with the known key types first, so the server presents a key we can check. */
  algorithms: string[];
  knownHostsPath?: string;
}

export interface PolicyInput {
  host: string;
  address: string;
  port: number;
  pins?: readonly string[];
  knownHosts?: readonly KnownHostEntry[];
  knownHostsPath?: string;
}

/**
 * What keys a host may present. known_hosts entries are looked up under the address we dial and
 * under the inventory host name (what an operator types after `ssh root@`), with the port form.
 */
export function hostKeyPolicy(input: PolicyInput): HostKeyPolicy {
  const names = [knownHostName(input.address, input.port), knownHostName(input.host, input.port)];
  const expected = new Set(input.pins ?? []);
  const revoked = new Set<string>();
  const knownTypes = new Set<string>();
  for (const e of input.knownHosts ?? []) {
    if (e.marker === '@cert-authority') continue; // host certificates are not supported: ignore CAs
    if (!names.some((n) => hostFieldMatches(e.hosts, n))) continue;
    if (e.marker === '@revoked') {
      revoked.add(fingerprintOf(e.key));
    } else {
      expected.add(fingerprintOf(e.key));
      knownTypes.add(e.keyType);
    }
  }
  for (const r of revoked) expected.delete(r);
  const preferred = DEFAULT_HOST_KEY_ALGOS.filter((a) =>
    [...knownTypes].some((t) => (ALGOS_FOR_KEY_TYPE[t] ?? [t]).includes(a)),
  );
  const algorithms = [...preferred, ...DEFAULT_HOST_KEY_ALGOS.filter((a) => !preferred.includes(a))];
  return { host: input.host, address: input.address, port: input.port, expected: [...expected], revoked: [...revoked], algorithms, knownHostsPath: input.knownHostsPath };
}

/** null when the key is accepted, otherwise the non-retryable failure to report. */
export function checkHostKey(policy: HostKeyPolicy, keyBlob: Buffer): ApplicationFailure | null {
  const presented = fingerprintOf(keyBlob);
  const where = `${policy.host} (${policy.address}:${policy.port})`;
  const type = keyTypeOf(keyBlob);
  if (policy.revoked.includes(presented)) {
    return ApplicationFailure.nonRetryable(
      `host key of ${where} is marked @revoked: presented ${presented} (${type})`,
      'HostKeyMismatch',
    );
  }
  if (policy.expected.length === 0) {
    return ApplicationFailure.nonRetryable(
      `host key of ${where} is unknown: presented ${presented} (${type}); refusing to connect. ` +
        `Add it to ${policy.knownHostsPath ?? 'ssh.knownHostsPath'} (ssh-keyscan -p ${policy.port} ${policy.address}) ` +
        `or pin it in hosts.${policy.host}.hostKeyFingerprints after checking it on the host's console`,
      'HostKeyUnknown',
    );
  }
  if (!policy.expected.includes(presented)) {
    return ApplicationFailure.nonRetryable(
      `host key mismatch for ${where}: expected ${policy.expected.join(' or ')}, presented ${presented} (${type}). ` +
        `The host was reinstalled or someone is in the middle; check on the console before updating the pin`,
      'HostKeyMismatch',
    );
  }
  return null;
}
