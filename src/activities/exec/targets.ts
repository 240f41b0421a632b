// The one place that turns a Target into the command line sent over SSH to the Proxmox host.
import { shellCommand, validNodeName, validVmid } from './quote.js';
import type { Target } from './types.js';

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Seconds for `qm guest exec --timeout`: whole seconds, at least 1 (0 would mean "no limit"). */
export function qmTimeoutSeconds(timeoutMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / 1000));
}

/**
 * host → the script as-is (sshd runs it with the user's login shell);
 * vm   → `qm guest exec <vmid> --timeout <s> -- bash -c '<script>'` (the agent has no shell);
 * lxc  → `pct exec <ctid> -- bash -c '<script>'`.
 */
export function buildCommand(target: Target, script: string, timeoutMs = DEFAULT_TIMEOUT_MS, passStdin = false): string {
  validNodeName(target.host, 'host name');
  switch (target.kind) {
    case 'host':
      return script;
    case 'vm':
      return shellCommand([
        'qm', 'guest', 'exec', String(validVmid(target.vmid)),
        '--timeout', String(qmTimeoutSeconds(timeoutMs)),
        // qm reads stdin to EOF (at most 1 MiB) and hands it to the agent as input-data (qemu-server qm.pm exec)
        ...(passStdin ? ['--pass-stdin', '1'] : []),
        '--', 'bash', '-c', script,
      ]);
    case 'lxc':
      return shellCommand(['pct', 'exec', String(validVmid(target.ctid, 'ctid')), '--', 'bash', '-c', script]);
  }
}

/** Human label for plans and messages: `still-fawn`, `still-fawn VM 108`, `fun-bedbug CT 113`. */
export function describeTarget(target: Target): string {
  switch (target.kind) {
    case 'host':
      return target.host;
    case 'vm':
      return `${target.host} VM ${target.vmid}`;
    case 'lxc':
      return `${target.host} CT ${target.ctid}`;
  }
}
