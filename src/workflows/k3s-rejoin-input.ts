// The rejoin's single object input (the UI's Start Workflow form sends one JSON value), checked
// before any step runs so a typo ends the run at once instead of failing a step later.
import { ApplicationFailure } from '@temporalio/workflow';
import { durationMs } from './runbook/gate';

export interface K3sRejoinInput {
  /** The K3s node to bring back, e.g. "k3s-vm-still-fawn". */
  node: string;
  /** Run every check, change nothing, return the plan. */
  dryRun?: boolean;
  /** How long to wait for the node to be Ready after the install. Default 300. */
  readyTimeoutSeconds?: number;
  /** Change steps whose approval gate is passed at start (unattended runs). */
  preApproved?: string[];
  /** Who asks for the run (the CLI fills it in); never the only approver of a point of no return. */
  requestedBy?: string;
  /** How long a gate may wait for a decision before the run ends safely, e.g. "4h". */
  gateDeadline?: string;
}

const KEYS = new Set(['node', 'dryRun', 'readyTimeoutSeconds', 'preApproved', 'requestedBy', 'gateDeadline']);
export const REJOIN_CHANGE_STEPS = ['remove-stale-node', 'uninstall-k3s', 'install-k3s'];

export interface RejoinInput {
  node: string;
  dryRun: boolean;
  readyTimeoutSeconds: number;
  preApproved: string[];
  requestedBy?: string;
  gateDeadline?: string;
}

export function checkRejoinInput(input: unknown): RejoinInput {
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
  if (i.requestedBy !== undefined && (typeof i.requestedBy !== 'string' || !/^[\w.@-]{1,64}$/.test(i.requestedBy))) {
    throw bad('"requestedBy" must be a user name (letters, digits, . _ @ -)');
  }
  if (i.gateDeadline !== undefined && (typeof i.gateDeadline !== 'string' || durationMs(i.gateDeadline) === undefined)) {
    throw bad('"gateDeadline" must be a duration like "90s", "30m", "4h" or "2d"');
  }
  return {
    requestedBy: i.requestedBy as string | undefined,
    gateDeadline: i.gateDeadline as string | undefined,
    node: i.node,
    dryRun: (i.dryRun as boolean | undefined) ?? false,
    readyTimeoutSeconds: (t as number | undefined) ?? 300,
    preApproved: (pre as string[] | undefined) ?? [],
  };
}
