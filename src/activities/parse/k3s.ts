// K3s facts read from a server: its version, and the flags install.sh wrote into the unit,
// so that a rejoining server is reinstalled with the same flags.
// Source: k3s-io/k3s install.sh `quote`, `quote_indent`, `create_systemd_service_file` (the unit's ExecStart);
// pkg/cli/cmds/agent.go and server.go (which flags describe one node).
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../exec/redact';

// a unit's text may hold --token and other secrets: masked before it is clipped into the message
function bad(what: string, text: string): never {
  throw ApplicationFailure.nonRetryable(`unexpected ${what}: ${JSON.stringify(redact(text).trim().slice(0, 200))}`, 'UnexpectedOutput');
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
const JOIN_FLAGS_WITH_VALUE = new Set(['--server', '-s', '--token-file', '--agent-token-file', '--cluster-reset-restore-path']);
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
/**
 * Flags whose value is a secret (server.go ServerToken `token,t`, `agent-token`, `etcd-s3-access-key`,
 * `etcd-s3-secret-key`; `etcd-s3-session-token` of later releases; agent.go VPNAuth): never copied, never
 * shown. `--datastore-endpoint` is a DSN that may hold a password: shown masked, copied only without one.
 */
export const SECRET_FLAGS = new Set(['--token', '-t', '--agent-token', '--etcd-s3-access-key', '--etcd-s3-secret-key', '--etcd-s3-session-token', '--vpn-auth']);
// The cluster-wide flags a joining server is given, read from k3s pkg/cli/cmds/server.go ServerFlags (and the
// agent.go flags it includes). Anything else is not copied and is named in the plan, its value masked.
const COPIED_WITH_VALUE = new Set([
  '--https-listen-port', '--advertise-port', '--tls-san', '--data-dir', '-d', '--cluster-cidr', '--service-cidr',
  '--service-node-port-range', '--cluster-dns', '--cluster-domain', '--flannel-backend', '--egress-selector-mode',
  '--servicelb-namespace', '--write-kubeconfig', '-o', '--write-kubeconfig-mode', '--write-kubeconfig-group',
  '--helm-job-image', '--kube-apiserver-arg', '--etcd-arg', '--kube-controller-manager-arg', '--kube-scheduler-arg',
  '--kube-cloud-controller-manager-arg', '--kube-controller-arg', '--kube-cloud-controller-arg', '--datastore-cafile',
  '--datastore-certfile', '--datastore-keyfile', '--etcd-snapshot-name', '--etcd-snapshot-schedule-cron',
  '--etcd-snapshot-retention', '--etcd-snapshot-dir', '--etcd-s3-endpoint', '--etcd-s3-endpoint-ca', '--etcd-s3-bucket',
  '--etcd-s3-region', '--etcd-s3-folder', '--etcd-s3-timeout', '--default-local-storage-path', '--disable',
  '--image-credential-provider-bin-dir', '--image-credential-provider-config', '--container-runtime-endpoint',
  '--default-runtime', '--image-service-endpoint', '--pause-image', '--snapshotter', '--private-registry',
  '--system-default-registry', '--airgap-extra-registry', '--resolv-conf', '--flannel-conf', '--flannel-cni-conf',
  '--kubelet-arg', '--kube-proxy-arg', '--lb-server-port', '--v', '--vmodule', '--log', '-l',
]);
const COPIED_BOOL = new Set([
  '--tls-san-security', '--flannel-ipv6-masq', '--flannel-external-ip', '--etcd-expose-metrics', '--etcd-disable-snapshots',
  '--etcd-snapshot-compress', '--etcd-s3', '--etcd-s3-skip-ssl-verify', '--etcd-s3-insecure', '--disable-scheduler',
  '--disable-cloud-controller', '--disable-kube-proxy', '--disable-network-policy', '--disable-helm-controller',
  '--disable-apiserver', '--disable-controller-manager', '--disable-etcd', '--embedded-registry', '--docker',
  '--disable-default-registry-endpoint', '--protect-kernel-defaults', '--secrets-encryption', '--enable-pprof',
  '--rootless', '--prefer-bundled-bin', '--selinux', '--disable-agent', '--debug', '--alsologtostderr',
]);
const DATASTORE = '--datastore-endpoint';

/** A datastore DSN with its password masked: `postgres://k3s:***@db:5432/k3s`, `mysql://u:***@tcp(h)/db`, `password=***`. */
export function maskDatastoreEndpoint(dsn: string): string {
  const userinfo = dsn.includes('://') ? /(\/\/[^:/@\s]*):[^@\s]+@/g : /^([^:/@\s]+):[^@\s]+@/; // URL, or mysql's `u:p@tcp(h)/db`
  return dsn.replace(userinfo, '$1:***@').replace(/((?:^|[?&\s])password=)[^&\s]*/gi, '$1***');
}

export interface JoinFlags {
  /** Cluster-wide flags a joining server gets, in order, e.g. ['--disable', 'servicelb']. */
  keep: string[];
  /** Names of the server's own node-specific flags, left out (values never shown: --vpn-auth is a secret). */
  nodeSpecific: string[];
  /** Those node-specific flags with their values, as words (`--vpn-auth` left out): what the node itself runs with. */
  nodeArgs: string[];
  /**
   * What is not copied besides the node-specific flags, as shown to an approver: the join flags, secrets
   * (`--etcd-s3-secret-key ***`), a datastore DSN with its password masked, flags not on the allowlist (values masked).
   */
  notCopied: string[];
}

/**
 * Splits a server's unit arguments: the `server` command, `--cluster-init`, `--server`, every token, the
 * secrets and the node-specific flags are left out; the allowlisted cluster-wide flags (server.go) are kept in
 * order. Values of secret or unknown flags appear nowhere in the result.
 */
export function splitJoinFlags(args: readonly string[]): JoinFlags {
  const keep: string[] = [];
  const nodeSpecific: string[] = [];
  const nodeArgs: string[] = [];
  const notCopied: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (i === 0 && a === 'server') continue;
    const inline = a.startsWith('-') && a.includes('=');
    const flag = inline ? a.slice(0, a.indexOf('=')) : a;
    const known = JOIN_FLAGS_WITH_VALUE.has(flag) || NODE_FLAGS_WITH_VALUE.has(flag) || SECRET_FLAGS.has(flag) || COPIED_WITH_VALUE.has(flag) || flag === DATASTORE;
    const bool = JOIN_FLAGS_BOOL.has(flag) || NODE_FLAGS_BOOL.has(flag) || COPIED_BOOL.has(flag);
    // k3s server takes no positional arguments: after an unknown flag, a word that is not a flag is its value
    const takesNext = !inline && (known || (!bool && i + 1 < args.length && !args[i + 1]!.startsWith('-')));
    const value = inline ? a.slice(a.indexOf('=') + 1) : takesNext ? (args[i + 1] ?? '') : undefined;
    const words = takesNext ? [a, ...(i + 1 < args.length ? [args[i + 1]!] : [])] : [a];
    if (takesNext) i++;
    const masked = value === undefined ? flag : inline ? `${flag}=***` : `${flag} ***`;
    if (NODE_FLAGS_WITH_VALUE.has(flag) || NODE_FLAGS_BOOL.has(flag)) {
      nodeSpecific.push(flag);
      if (!SECRET_FLAGS.has(flag)) nodeArgs.push(...words);
    } else if (JOIN_FLAGS_BOOL.has(flag) || JOIN_FLAGS_WITH_VALUE.has(flag)) {
      notCopied.push(flag === '--server' || flag === '-s' || value === undefined ? flag : words.join(' '));
    } else if (SECRET_FLAGS.has(flag)) {
      notCopied.push(masked);
    } else if (flag === DATASTORE) {
      const shown = maskDatastoreEndpoint(value ?? '');
      if (shown === value) keep.push(...words);
      else notCopied.push(inline ? `${flag}=${shown}` : `${flag} ${shown}`);
    } else if (COPIED_WITH_VALUE.has(flag) || COPIED_BOOL.has(flag)) {
      keep.push(...words);
    } else {
      notCopied.push(masked);
    }
  }
  return { keep, nodeSpecific, nodeArgs, notCopied };
}

/** The cluster-wide flags of a server for another server to join with (see splitJoinFlags). */
export function serverFlagsForJoin(args: readonly string[]): string[] {
  return splitJoinFlags(args).keep;
}
