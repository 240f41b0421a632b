// K3s facts read from a server: its version, and the flags install.sh wrote into the unit,
// so that a rejoining server is reinstalled with the same flags.
// Source: k3s-io/k3s install.sh `quote`, `quote_indent`, `create_systemd_service_file` (the unit's ExecStart);
// pkg/cli/cmds/agent.go and server.go (which flags describe one node).
import { ApplicationFailure } from '@temporalio/common';

function bad(what: string, text: string): never {
  throw ApplicationFailure.nonRetryable(`unexpected ${what}: ${JSON.stringify(text.trim().slice(0, 200))}`, 'UnexpectedOutput');
}

/** `k3s --version` → `v1.32.5+k3s1` (first line is `k3s version v1.32.5+k3s1 (8e8f2a47)`). */
export function parseK3sVersion(text: string): string {
  const m = /^k3s version (v\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/m.exec(text);
  if (!m) bad('k3s --version output', text);
  return m[1]!;
}

/**
 * Splits one systemd command line into words: '…' and "…" quoting, backslash escapes outside
 * single quotes. install.sh writes every argument single-quoted with `'\''` for a quote.
 */
export function splitSystemdWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) bad('unterminated quote in ExecStart', line);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        cur += line[i];
      }
      if (i >= line.length) bad('unterminated quote in ExecStart', line);
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/**
 * The arguments of `ExecStart=` in /etc/systemd/system/k3s.service, after the binary:
 * `ExecStart=/usr/local/bin/k3s \` / `    server \` / `\t'--disable' \` / `\t'servicelb' \` →
 * ['server', '--disable', 'servicelb'].
 */
export function parseK3sUnitExecStart(unit: string): string[] {
  const lines = unit.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*ExecStart=/.test(l));
  if (start < 0) bad('k3s.service (no ExecStart=)', unit);
  // systemd joins a line that ends in a backslash with the next one.
  let joined = lines[start]!.replace(/^\s*ExecStart=/, '');
  for (let i = start; /\\\s*$/.test(lines[i] ?? '') && i + 1 < lines.length; i++) {
    joined = `${joined.replace(/\\\s*$/, ' ')}${lines[i + 1]}`;
  }
  joined = joined.replace(/\\\s*$/, '');
  const words = splitSystemdWords(joined);
  // ExecStart prefixes (-, @, +, !, :) are systemd's, not part of the path.
  const binary = words.shift()?.replace(/^[-@+!:]+/, '');
  if (!binary || !/(^|\/)k3s$/.test(binary)) bad('k3s.service ExecStart (not the k3s binary)', joined);
  return words;
}

// Flags that say how a server joined (or bootstrapped) the cluster, not how it is configured.
const JOIN_FLAGS_WITH_VALUE = new Set(['--server', '-s', '--token', '-t', '--token-file', '--agent-token', '--agent-token-file', '--cluster-reset-restore-path']);
const JOIN_FLAGS_BOOL = new Set(['--cluster-init', '--cluster-reset']);
// Flags that describe one node, not the cluster (k3s pkg/cli/cmds/agent.go: NodeNameFlag, NodeIPFlag `node-ip,i`,
// NodeExternalIPFlag, NodeInternalDNSFlag, NodeExternalDNSFlag, NodeLabels, NodeTaints, BindAddressFlag,
// FlannelIfaceFlag, VPNAuth/VPNAuthFile; server.go: `advertise-address`; ConfigFlag `config,c` is a file on
// that node). Copied to another server they clash: a duplicate node name, another node's IP for etcd's peer URL.
const NODE_FLAGS_WITH_VALUE = new Set([
  '--node-name', '--node-ip', '-i', '--node-external-ip', '--node-internal-dns', '--node-external-dns',
  '--node-label', '--node-taint', '--bind-address', '--advertise-address', '--flannel-iface',
  '--vpn-auth', '--vpn-auth-file', '--config', '-c',
]);
const NODE_FLAGS_BOOL = new Set(['--with-node-id']);
// never carried anywhere: a VPN join key
const SECRET_NODE_FLAGS = new Set(['--vpn-auth']);

export interface JoinFlags {
  /** Cluster-wide flags a joining server gets, in order, e.g. ['--disable', 'servicelb']. */
  keep: string[];
  /** Names of the server's own node-specific flags, left out (values never shown: --vpn-auth is a secret). */
  nodeSpecific: string[];
  /** Those node-specific flags with their values, as words (`--vpn-auth` left out): what the node itself runs with. */
  nodeArgs: string[];
}

/**
 * Splits a server's unit arguments: drops the `server` command, `--cluster-init`, `--server X`/`--server=X`,
 * every `--token*` (the token is read separately, never copied), `--cluster-reset*`, and the node-specific
 * flags; keeps the rest in order.
 */
export function splitJoinFlags(args: readonly string[]): JoinFlags {
  const keep: string[] = [];
  const nodeSpecific: string[] = [];
  const nodeArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (i === 0 && a === 'server') continue;
    const inline = a.startsWith('-') && a.includes('=');
    const flag = inline ? a.slice(0, a.indexOf('=')) : a;
    const secret = flag.startsWith('--token') || flag.startsWith('--agent-token');
    if (JOIN_FLAGS_BOOL.has(flag) || NODE_FLAGS_BOOL.has(flag)) {
      if (NODE_FLAGS_BOOL.has(flag)) {
        nodeSpecific.push(flag);
        nodeArgs.push(a);
      }
      continue;
    }
    if (secret || JOIN_FLAGS_WITH_VALUE.has(flag) || NODE_FLAGS_WITH_VALUE.has(flag)) {
      const words = inline ? [a] : [a, ...(i + 1 < args.length ? [args[i + 1]!] : [])];
      if (!inline) i++; // the value is the next word
      if (NODE_FLAGS_WITH_VALUE.has(flag)) {
        nodeSpecific.push(flag);
        if (!SECRET_NODE_FLAGS.has(flag)) nodeArgs.push(...words);
      }
      continue;
    }
    keep.push(a);
  }
  return { keep, nodeSpecific, nodeArgs };
}

/** The cluster-wide flags of a server for another server to join with (see splitJoinFlags). */
export function serverFlagsForJoin(args: readonly string[]): string[] {
  return splitJoinFlags(args).keep;
}
