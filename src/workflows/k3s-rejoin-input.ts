// The rejoin's single object input (the UI's Start Workflow form sends one JSON value), checked
// before any step runs so a typo ends the run at once instead of failing a step later.
import { ApplicationFailure } from '@temporalio/workflow';

export interface K3sRejoinInput {
  /** The K3s node to bring back, e.g. "k3s-vm-still-fawn". */
  node: string;
  /** Run every check, change nothing, return the plan. */
  dryRun?: boolean;
  /** How long to wait for the node to be Ready after the install. Default 300. */
  readyTimeoutSeconds?: number;
  /** Change steps whose approval gate is passed at start (unattended runs). */
  preApproved?: string[];
}

const KEYS = new Set(['node', 'dryRun', 'readyTimeoutSeconds', 'preApproved']);
export const REJOIN_CHANGE_STEPS = ['remove-stale-node', 'uninstall-k3s', 'install-k3s'];

export function checkRejoinInput(input: unknown): Required<Omit<K3sRejoinInput, 'preApproved'>> & { preApproved: string[] } {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`bad input: ${why}`, 'BadInput');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw bad('expected one JSON object like {"node": "k3s-vm-still-fawn"}');
  }
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((k) => !KEYS.has(k));
  if (unknown.length) throw bad(`unknown field(s) ${unknown.join(', ')} (allowed: ${[...KEYS].join(', ')})`);
  if (typeof i.node !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(i.node)) {
    throw bad(`"node" must be a K3s node name (lowercase letters, digits, -), got ${JSON.stringify(i.node)}`);
  }
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') throw bad('"dryRun" must be true or false');
  const t = i.readyTimeoutSeconds;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 10 || t > 86_400)) {
    throw bad('"readyTimeoutSeconds" must be a whole number of seconds from 10 to 86400');
  }
  const pre = i.preApproved;
  if (pre !== undefined && (!Array.isArray(pre) || pre.some((s) => typeof s !== 'string' || !REJOIN_CHANGE_STEPS.includes(s)))) {
    throw bad(`"preApproved" must list change steps among ${REJOIN_CHANGE_STEPS.join(', ')}`);
  }
  return {
    node: i.node,
    dryRun: (i.dryRun as boolean | undefined) ?? false,
    readyTimeoutSeconds: (t as number | undefined) ?? 300,
    preApproved: (pre as string[] | undefined) ?? [],
  };
}
