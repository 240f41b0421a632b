// The Frigate migration's single object input, checked before any step runs.
import { ApplicationFailure } from '@temporalio/workflow';
import { durationMs } from './runbook/gate';

export interface FrigateMigrationInput {
  /** Run every check, change nothing, return the plan. */
  dryRun?: boolean;
  /** Change steps whose approval gate is passed at start (unattended runs). */
  preApproved?: string[];
  /** Who asks for the run (the CLI fills it in). */
  requestedBy?: string;
  /** How long a gate may wait for a decision before the run ends safely, e.g. "4h". */
  gateDeadline?: string;
  /** How long the rollout may take (seconds, default 300). */
  rolloutTimeoutSeconds?: number;
}

export const FRIGATE_CHANGE_STEPS = ['label-node', 'copy-frigate-data', 'deploy-frigate', 'cutover'];
const KEYS = new Set(['dryRun', 'preApproved', 'requestedBy', 'gateDeadline', 'rolloutTimeoutSeconds']);

export interface CheckedFrigateInput {
  dryRun: boolean;
  preApproved: string[];
  requestedBy?: string;
  gateDeadline?: string;
  rolloutTimeoutSeconds: number;
}

export function checkFrigateInput(input: unknown): CheckedFrigateInput {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`bad input: ${why}`, 'BadInput');
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('expected one JSON object like {} or {"dryRun": true}');
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((k) => !KEYS.has(k));
  if (unknown.length) throw bad(`unknown field(s) ${unknown.join(', ')} (allowed: ${[...KEYS].join(', ')})`);
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') throw bad('"dryRun" must be true or false');
  const pre = i.preApproved;
  if (pre !== undefined && (!Array.isArray(pre) || pre.some((s) => typeof s !== 'string' || !FRIGATE_CHANGE_STEPS.includes(s)))) {
    throw bad(`"preApproved" must list change steps among ${FRIGATE_CHANGE_STEPS.join(', ')}`);
  }
  if (i.requestedBy !== undefined && (typeof i.requestedBy !== 'string' || !/^[\w.@-]{1,64}$/.test(i.requestedBy))) {
    throw bad('"requestedBy" must be a user name (letters, digits, . _ @ -)');
  }
  if (i.gateDeadline !== undefined && (typeof i.gateDeadline !== 'string' || durationMs(i.gateDeadline) === undefined)) {
    throw bad('"gateDeadline" must be a duration like "90s", "30m", "4h" or "2d"');
  }
  const t = i.rolloutTimeoutSeconds;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 10 || t > 3600)) {
    throw bad('"rolloutTimeoutSeconds" must be a whole number of seconds from 10 to 3600');
  }
  return {
    dryRun: (i.dryRun as boolean | undefined) ?? false,
    preApproved: (pre as string[] | undefined) ?? [],
    requestedBy: i.requestedBy as string | undefined,
    gateDeadline: i.gateDeadline as string | undefined,
    rolloutTimeoutSeconds: (t as number | undefined) ?? 300,
  };
}
