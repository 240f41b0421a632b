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

/** etcdctl against one endpoint with K3s's client certificate. */
export function etcdctl(inventory: Inventory, endpoint: string, args: string[]): string {
  const tls = inventory.k3s.etcd;
  return shellCommand([
    'etcdctl',
    '--cacert', tls.caCert,
    '--cert', tls.cert,
    '--key', tls.key,
    '--endpoints', endpoint,
    '--dial-timeout', '3s',
    '--command-timeout', '5s',
    ...args,
  ]);
}

export const kubectlGetNodes = (): string => 'kubectl get nodes -o json';
export const kubectlDeleteNode = (node: string): string => shellCommand(['kubectl', 'delete', 'node', node]);
export const k3sVersion = (): string => 'k3s --version';
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
  token: string;
  serverFlags: string[];
}

/** `curl -sfL <url> | INSTALL_K3S_VERSION=… K3S_URL=… K3S_TOKEN=… sh -s - server <flags>` */
export function installK3s(p: InstallParams): string {
  return [
    `curl -sfL ${shellQuote(p.installScriptUrl)} |`,
    `INSTALL_K3S_VERSION=${shellQuote(p.version)}`,
    `K3S_URL=${shellQuote(p.serverUrl)}`,
    `K3S_TOKEN=${p.token === TOKEN_MASK ? TOKEN_MASK : shellQuote(p.token)}`,
    shellCommand(['sh', '-s', '-', 'server', ...p.serverFlags]),
  ].join(' ');
}

export function serverUrl(address: string, apiPort: number): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${apiPort}`;
}
