// Shell quoting and the validators for values that reach a shell. Every value interpolated into a
// command line goes through shellQuote; the validators refuse bad values before anything runs.
import { ApplicationFailure } from '@temporalio/common';

// Words made only of these characters mean the same quoted or not, so they stay readable in plans.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
// `NAME=value` as a first word is an assignment, not a command: always quote those.
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

function badInput(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'BadInput');
}

/**
 * POSIX single-quote style: `it's` → `'it'\''s'`. Inside single quotes nothing is special, so the
 * only character to handle is the quote itself. NUL cannot travel in an argv, so it is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) badInput('a shell argument cannot contain a NUL byte');
  if (SAFE_WORD.test(value) && !ASSIGNMENT.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line, each element quoted. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) badInput('empty command');
  return argv.map(shellQuote).join(' ');
}

// ---- validators: each returns its input so it can be used inline ----

const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A node/host/member name: a lowercase DNS label. */
export function validNodeName(name: string, what = 'node name'): string {
  if (!NODE_NAME.test(name)) badInput(`invalid ${what} ${JSON.stringify(name)}: must be a lowercase DNS label (a-z, 0-9, -)`);
  return name;
}

/** A Proxmox VM or CT id. */
export function validVmid(id: number, what = 'vmid'): number {
  if (!Number.isSafeInteger(id) || id < 100 || id > 999_999_999) {
    badInput(`invalid ${what} ${JSON.stringify(id)}: must be an integer from 100 to 999999999`);
  }
  return id;
}

/** An etcd member id as etcdctl prints and accepts it: lowercase hex, no padding. */
export function validMemberId(id: string): string {
  if (!/^[0-9a-f]{1,16}$/.test(id) || /^0+$/.test(id)) {
    badInput(`invalid etcd member id ${JSON.stringify(id)}: must be 1-16 lowercase hex digits, not zero`);
  }
  return id;
}

/** A K3s (semver-ish) version such as `v1.32.5+k3s1` or `v1.33.0-rc1+k3s1`. */
export function validVersion(version: string): string {
  if (!/^v\d{1,4}\.\d{1,4}\.\d{1,4}(-[0-9A-Za-z.]{1,32})?(\+[0-9A-Za-z.]{1,32})?$/.test(version)) {
    badInput(`invalid version ${JSON.stringify(version)}: expected something like v1.32.5+k3s1`);
  }
  return version;
}

/** An http(s) URL made of characters that need no quoting anywhere (quoted anyway). */
export function validUrl(url: string, protocols: readonly string[] = ['https:', 'http:']): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    badInput(`invalid URL ${JSON.stringify(url)}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    badInput(`invalid URL ${JSON.stringify(url)}: scheme must be one of ${protocols.join(', ')}`);
  }
  if (!/^[A-Za-z0-9._~:/?#[\]@!$&()*+,;=%-]+$/.test(url) || /['`"\\\s]/.test(url) || parsed.username || parsed.password) {
    badInput(`invalid URL ${JSON.stringify(url)}: contains characters or credentials not allowed here`);
  }
  return url;
}

/** An IPv4 or IPv6 address literal. */
export function validIp(address: string): string {
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(address) && !/^[0-9a-fA-F:]{2,39}$/.test(address)) {
    badInput(`invalid IP address ${JSON.stringify(address)}`);
  }
  return address;
}
