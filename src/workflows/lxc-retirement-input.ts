// The LXC retirement's single object input, checked before any step runs.
import { ApplicationFailure } from '@temporalio/workflow';
import { durationMs } from './runbook/gate';

export interface LxcRetirementInput {
  /** Run every check, change nothing, return the plan. */
  dryRun?: boolean;
  /** Change steps whose approval gate is passed at start (unattended runs). */
  preApproved?: string[];
  /** Who asks for the run; never the only approver of a point of no return. */
  requestedBy?: string;
  /** How long a gate may wait for a decision before the run ends safely, e.g. "4h". */
  gateDeadline?: string;
  /** How long the new Frigate must stay healthy before the old LXC goes. Default "7d". */
  healthyFor?: string;
  /** How often the soak checks Frigate's health. Default "1d". */
  checkEvery?: string;
  /** How long the stopped LXC waits before it is destroyed (a way back). Default "24h". */
  grace?: string;
}

export const LXC_RETIREMENT_CHANGE_STEPS = ['backup', 'stop-ct', 'destroy-ct'];
const KEYS = new Set(['dryRun', 'preApproved', 'requestedBy', 'gateDeadline', 'healthyFor', 'checkEvery', 'grace']);
const DAY = 86_400_000;
/** A soak may check at most this often in all (bounds the run's history). */
const MAX_CHECKS = 1000;

export interface RetirementInput {
  dryRun: boolean;
  preApproved: string[];
  requestedBy?: string;
  gateDeadline?: string;
  healthyFor: string;
  checkEvery: string;
  grace: string;
}

export function checkLxcRetirementInput(input: unknown): RetirementInput {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`bad input: ${why}`, 'BadInput');
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad('expected one JSON object like {"healthyFor": "7d"}');
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((k) => !KEYS.has(k));
  if (unknown.length) throw bad(`unknown field(s) ${unknown.join(', ')} (allowed: ${[...KEYS].join(', ')})`);
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') throw bad('"dryRun" must be true or false');
  const pre = i.preApproved;
  if (pre !== undefined && (!Array.isArray(pre) || pre.some((s) => typeof s !== 'string' || !LXC_RETIREMENT_CHANGE_STEPS.includes(s)))) {
    throw bad(`"preApproved" must list change steps among ${LXC_RETIREMENT_CHANGE_STEPS.join(', ')}`);
  }
  if (i.requestedBy !== undefined && (typeof i.requestedBy !== 'string' || !/^[\w.@-]{1,64}$/.test(i.requestedBy))) {
    throw bad('"requestedBy" must be a user name (letters, digits, . _ @ -)');
  }
  const duration = (key: string, dflt: string, min: number, max: number, range: string): string => {
    const v = i[key] ?? dflt;
    const ms = typeof v === 'string' ? durationMs(v) : undefined;
    if (ms === undefined) throw bad(`"${key}" must be a duration like "30s", "12h" or "7d"`);
    if (ms < min || ms > max) throw bad(`"${key}" must be ${range}, got "${v as string}"`);
    return v as string;
  };
  if (i.gateDeadline !== undefined) duration('gateDeadline', '', 1_000, 90 * DAY, 'from 1s to 90d');
  // Shorter than a day is for lab rehearsals; a real soak is days, a real grace hours to weeks.
  const healthyFor = duration('healthyFor', '7d', 1_000, 90 * DAY, 'from 1s to 90d');
  const checkEvery = duration('checkEvery', '1d', 1_000, 90 * DAY, 'from 1s to 90d');
  const grace = duration('grace', '24h', 1_000, 90 * DAY, 'from 1s to 90d');
  if (durationMs(checkEvery)! > durationMs(healthyFor)!) throw bad(`"checkEvery" (${checkEvery}) must not be longer than "healthyFor" (${healthyFor})`);
  if (durationMs(healthyFor)! / durationMs(checkEvery)! > MAX_CHECKS) {
    throw bad(`"healthyFor" / "checkEvery" makes more than ${MAX_CHECKS} checks: check less often`);
  }
  return {
    dryRun: (i.dryRun as boolean | undefined) ?? false,
    preApproved: (pre as string[] | undefined) ?? [],
    requestedBy: i.requestedBy as string | undefined,
    gateDeadline: i.gateDeadline as string | undefined,
    healthyFor,
    checkEvery,
    grace,
  };
}

/** The archive of CT `ctid` named `archive` in a datastore listing, or a refusal an operator can act on. */
export function findArchive(
  listing: { snapshots: { type: string; id: string; time: string; verified: boolean }[]; evidence: string[] },
  ctid: number,
  archive: string,
  pbsHost: string,
): { archive: string; verified: boolean; evidence: string[] } {
  const snap = listing.snapshots.find((s) => `${s.type}/${s.id}/${s.time}` === archive);
  if (!snap || snap.type !== 'ct' || snap.id !== String(ctid)) {
    throw ApplicationFailure.nonRetryable(`the backup ${archive} of CT ${ctid} is not in the datastore on ${pbsHost}: nothing will be stopped or destroyed`, 'PreconditionFailed');
  }
  return {
    archive,
    verified: snap.verified,
    evidence: [...listing.evidence, `${archive} is in the datastore on ${pbsHost}${snap.verified ? ' (verified)' : ' (not verified yet)'}`],
  };
}
