// The exact commands of the K3s rejoin, rendered in one place so the plan an approver sees and the
// commands that run are the same text. Every value goes through shellQuote.
import type { Inventory } from '../../inventory/schema';
import { shellCommand, shellQuote } from '../exec/quote';

export const K3S_UNIT = '/etc/systemd/system/k3s.service';
export const K3S_TOKEN_FILE = '/var/lib/rancher/k3s/server/token';
export const K3S_UNINSTALL = '/usr/local/bin/k3s-uninstall.sh';
export const ETCD_NAME_FILE = '/var/lib/rancher/k3s/server/db/etcd/name';
/** Shown instead of the join token in plans and evidence. */
export const TOKEN_MASK = '***';

/** etcdctl's timeouts for one command: how long a dial, and the whole request, may take. */
export interface EtcdctlTimeouts {
  dial: string;
  command: string;
}

const DEFAULT_TIMEOUTS: EtcdctlTimeouts = { dial: '3s', command: '5s' };

/**
 * The health probe's timeouts. `endpoint health` probes every endpoint at once, each with its own
 * client and a Get bounded by --command-timeout (etcd-io/etcd v3.4 etcdctl/ctlv3/command/ep_command.go
 * `epHealthCommandFunc`, util.go `commandCtx`); the dial does not block (clientv3/client.go `dial`:
 * no grpc.WithBlock), so a dead member costs exactly --command-timeout. A live member answers in
 * milliseconds; one second is what etcd itself gives a member's read before its /health says false
 * (v3.4 etcdserver/api/etcdhttp/metrics.go `checkHealth`).
 */
export const HEALTH_PROBE_TIMEOUTS: EtcdctlTimeouts = { dial: '1s', command: '1s' };

/** etcdctl against one endpoint (or a comma-separated list) with K3s's client certificate. */
export function etcdctl(inventory: Inventory, endpoint: string, args: string[], timeouts: EtcdctlTimeouts = DEFAULT_TIMEOUTS): string {
  const tls = inventory.k3s.etcd;
  return shellCommand([
    'etcdctl',
    '--cacert', tls.caCert,
    '--cert', tls.cert,
    '--key', tls.key,
    '--endpoints', endpoint,
    '--dial-timeout', timeouts.dial,
    '--command-timeout', timeouts.command,
    ...args,
  ]);
}

/** Between the two outputs of etcdView: a line neither JSON output can contain. */
export const ETCD_VIEW_MARK = '#--- endpoint health ---#';

/**
 * One round trip for what a check needs of etcd: `member list -w json` through `endpoint` (its exit
 * status is the script's when it fails), then the health of every member's client URLs, probed
 * together (`endpoint health --cluster`, its own short timeouts), after ETCD_VIEW_MARK. The health
 * probe exits 1 when an endpoint is unhealthy, and still prints every endpoint's JSON on stdout.
 */
export function etcdView(inventory: Inventory, endpoint: string): string {
  return [
    `${etcdctl(inventory, endpoint, ['member', 'list', '-w', 'json'])} || exit $?`,
    `echo ${shellQuote(ETCD_VIEW_MARK)}`,
    etcdctl(inventory, endpoint, ['endpoint', 'health', '--cluster', '-w', 'json'], HEALTH_PROBE_TIMEOUTS),
    'exit 0',
  ].join('\n');
}

/** etcdView's stdout → the member list's text and the health probe's text. */
export function splitEtcdView(stdout: string): { memberList: string; health: string } {
  const lines = stdout.split('\n');
  const at = lines.indexOf(ETCD_VIEW_MARK);
  if (at < 0) return { memberList: stdout, health: '' };
  return { memberList: lines.slice(0, at).join('\n'), health: lines.slice(at + 1).join('\n') };
}

export const kubectlGetNodes = (): string => 'kubectl get nodes -o json';
export const kubectlDeleteNode = (node: string): string => shellCommand(['kubectl', 'delete', 'node', node]);
export const k3sVersion = (): string => 'k3s --version';
/** `active` once K3s has started (Type=notify: after its etcd member is up), else activating/failed/inactive. */
export const k3sServiceState = (): string => 'systemctl is-active k3s || true';
export const readUnit = (): string => shellCommand(['cat', K3S_UNIT]);
export const readToken = (): string => shellCommand(['cat', K3S_TOKEN_FILE]);

/** The official uninstall, never rm -rf; the service is stopped first so etcd lets go of its data. */
export function uninstallK3s(): string[] {
  return ['systemctl stop k3s || true', K3S_UNINSTALL];
}

export interface InstallParams {
  installScriptUrl: string;
  version: string;
  serverUrl: string;
  serverFlags: string[];
  /** Names this run's install job in the VM (`install-<key>`): a retry finds it instead of starting another. */
  jobKey: string;
}

/** The runbook's own state in a VM: on the VM's disk, outside what k3s-uninstall.sh deletes. */
export const REJOIN_DIR = '/var/lib/rancher/k3s-rejoin';
/** Files of /etc/rancher/k3s that are the node's own settings (k3s-uninstall.sh removes the whole directory). */
export const K3S_ETC = '/etc/rancher/k3s';
export const K3S_ETC_KEPT = ['config.yaml', 'config.yaml.d', 'registries.yaml'];
const ETC_BACKUP = `${REJOIN_DIR}/etc-rancher-k3s`;

export const installJobDir = (jobKey: string): string => `${REJOIN_DIR}/install-${jobKey}`;

const keptList = K3S_ETC_KEPT.join(' ');

/**
 * Before the uninstall: a copy of the node's own settings (config.yaml may hold a token: 0600, never
 * printed), compared with the original. Prints `kept <file> <bytes>` per file, or `kept nothing`.
 */
export function backupK3sEtc(): string {
  return [
    'set -eu', 'umask 077', `mkdir -p ${REJOIN_DIR}`,
    `B=${ETC_BACKUP}`, 'rm -rf "$B.tmp"', 'mkdir "$B.tmp"', 'n=0',
    `for f in ${keptList}; do`,
    `  if [ -e ${K3S_ETC}/$f ]; then cp -a ${K3S_ETC}/$f "$B.tmp/$f"; diff -r ${K3S_ETC}/$f "$B.tmp/$f" >/dev/null; echo "kept $f $(du -sb "$B.tmp/$f" | cut -f1)"; n=$((n+1)); fi`,
    'done',
    // the node's own unit too: its node-specific flags (its --node-name, --node-ip) go back into the reinstall
    `if [ -f ${K3S_UNIT} ]; then cp -a ${K3S_UNIT} "$B.tmp/k3s.service"; fi`,
    'rm -rf "$B"', 'mv "$B.tmp" "$B"',
    '[ "$n" -gt 0 ] || echo "kept nothing"',
  ].join('\n');
}

/** The node's own unit: the live one, else the copy kept before the uninstall; nothing when neither exists. */
export const readOwnUnit = (): string => `cat ${K3S_UNIT} 2>/dev/null || cat ${ETC_BACKUP}/k3s.service 2>/dev/null || true`;

/** What the backup holds: `kept <file> <bytes>` lines (an empty result: no backup). */
export function listK3sEtcBackup(): string {
  return [`B=${ETC_BACKUP}`, `for f in ${keptList}; do [ -e "$B/$f" ] && echo "kept $f $(du -sb "$B/$f" | cut -f1)"; done`, 'true'].join('\n');
}

/**
 * The install, started once and detached from qm's exec (the guest agent keeps a process running past
 * qm's --timeout, qemu-server qm.pm `exec`): the join token comes on stdin, never in argv. The script
 * is downloaded to a file and checked first (a failed download never runs as an empty script), the
 * node's kept settings are put back, then install.sh runs in the background with its output, exit code
 * and pid in the job directory, which is created last (the commit point a retry observes).
 * Prints `job=started` or `job=exists`; exits non-zero with the reason when nothing was started.
 */
export function startInstallJob(p: InstallParams): string {
  const J = installJobDir(p.jobKey);
  return [
    'set -u', 'umask 077', `mkdir -p ${REJOIN_DIR}`,
    `J=${J}`,
    'if [ -e "$J" ]; then echo job=exists; exit 0; fi',
    'IFS= read -r K3S_TOKEN || true',
    "[ -n \"$K3S_TOKEN\" ] || { echo 'no join token on stdin' >&2; exit 3; }",
    `U=${shellQuote(p.installScriptUrl)}`,
    `T=$(mktemp -d ${REJOIN_DIR}/start.XXXXXX)`,
    'curl -sfL -o "$T/install.sh" "$U"; rc=$?',
    'if [ $rc -ne 0 ]; then rm -rf "$T"; echo "download of $U failed: curl exited $rc" >&2; exit 4; fi',
    `if ! head -n 1 "$T/install.sh" | grep -q '^#!'; then rm -rf "$T"; echo "$U is not a shell script ($(wc -c <"$T/install.sh") bytes)" >&2; exit 4; fi`,
    `for f in ${keptList}; do`,
    `  if [ -e ${ETC_BACKUP}/$f ] && [ ! -e ${K3S_ETC}/$f ]; then mkdir -p ${K3S_ETC} && cp -a ${ETC_BACKUP}/$f ${K3S_ETC}/$f; fi`,
    `  if [ -e ${ETC_BACKUP}/$f ] && ! diff -r ${ETC_BACKUP}/$f ${K3S_ETC}/$f >/dev/null; then rm -rf "$T"; echo "${K3S_ETC}/$f differs from the copy kept before the uninstall" >&2; exit 5; fi`,
    'done',
    'mv "$T" "$J"',
    `export K3S_TOKEN INSTALL_K3S_VERSION=${shellQuote(p.version)} K3S_URL=${shellQuote(p.serverUrl)}`,
    // every fd redirected: the agent reports the exec as exited only once its pipes close
    `setsid sh -c 'echo $$ >"$0/pid"; sh "$0/install.sh" "$@" >"$0/log" 2>&1; echo $? >"$0/rc.tmp"; mv "$0/rc.tmp" "$0/rc"' "$J" ${shellCommand(['server', ...p.serverFlags])} </dev/null >/dev/null 2>&1 &`,
    'echo job=started',
  ].join('\n');
}

/** The install job's state: `job=none|running|starting|lost|done rc=N`, then `---` and the last lines of its log. */
export function readInstallJob(jobKey: string): string {
  return [
    `J=${installJobDir(jobKey)}`,
    'if [ ! -d "$J" ]; then echo job=none; exit 0; fi',
    'if [ -f "$J/rc" ]; then echo "job=done rc=$(cat "$J/rc")"',
    'elif [ ! -s "$J/pid" ]; then echo job=starting',
    'elif kill -0 "$(cat "$J/pid")" 2>/dev/null; then echo job=running',
    'else echo job=lost; fi',
    'echo ---',
    'tail -n 15 "$J/log" 2>/dev/null',
    'true',
  ].join('\n');
}

/** After a verified install: the kept copy of the node's settings is no longer needed (it may hold a token). */
export const dropK3sEtcBackup = (): string => `rm -rf ${ETC_BACKUP}`;

/** What the plan shows for the install (the commands of startInstallJob, token masked). */
export function installPlanLines(p: InstallParams): string[] {
  return [
    `# the join token is read on the healthy node and handed to the VM on stdin (qm guest exec --pass-stdin 1), never in argv`,
    `curl -sfL -o <job dir>/install.sh ${shellQuote(p.installScriptUrl)}  # checked: curl exit 0 and a #! script`,
    `# put back ${K3S_ETC}/{${K3S_ETC_KEPT.join(',')}} kept before the uninstall, if any`,
    `INSTALL_K3S_VERSION=${shellQuote(p.version)} K3S_URL=${shellQuote(p.serverUrl)} K3S_TOKEN=${TOKEN_MASK} ${shellCommand(['sh', 'install.sh', 'server', ...p.serverFlags])}  # detached, once: ${installJobDir(p.jobKey)}`,
  ];
}

export function serverUrl(address: string, apiPort: number): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${apiPort}`;
}
