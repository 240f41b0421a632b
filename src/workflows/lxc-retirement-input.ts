// The LXC retirement's single object input, checked before any step runs.
import { ApplicationFailure } from '@temporalio/workflow';
import { durationMs } from './runbook/duration';
import { badInput, checkCommonInput, type CheckedCommon, type CommonInput } from './runbook/input';

export interface LxcRetirementInput extends CommonInput {
  /** How long the new Frigate must stay healthy before the old LXC goes. Default "7d". */
  healthyFor?: string;
  /** How often the soak checks Frigate's health. Default "1d". */
  checkEvery?: string;
  /** How long the stopped LXC waits before it is destroyed (a way back). Default "24h". */
  grace?: string;
}

export const LXC_RETIREMENT_CHANGE_STEPS = ['backup', 'stop-ct', 'destroy-ct'];
const DAY = 86_400_000;
/** A soak may check at most this often in all (bounds the run's history). */
const MAX_CHECKS = 1000;

export interface RetirementInput extends CheckedCommon {
  healthyFor: string;
  checkEvery: string;
  grace: string;
}

export function checkLxcRetirementInput(input: unknown): RetirementInput {
  const { i, common } = checkCommonInput(input, {
    fields: ['healthyFor', 'checkEvery', 'grace'],
    changeSteps: LXC_RETIREMENT_CHANGE_STEPS,
    irreversibleSteps: ['destroy-ct'],
    example: '{"healthyFor": "7d"}',
    optional: true,
  });
  const duration = (key: string, dflt: string, min: number, max: number, range: string): string => {
    const v = i[key] ?? dflt;
    const ms = typeof v === 'string' ? durationMs(v) : undefined;
    if (ms === undefined) throw badInput(`"${key}" must be a duration like "30s", "12h" or "7d"`);
    if (ms < min || ms > max) throw badInput(`"${key}" must be ${range}, got "${v as string}"`);
    return v as string;
  };
  if (i.gateDeadline !== undefined) duration('gateDeadline', '', 1_000, 90 * DAY, 'from 1s to 90d');
  // Shorter than a day is for lab rehearsals; a real soak is days, a real grace hours to weeks.
  const healthyFor = duration('healthyFor', '7d', 1_000, 90 * DAY, 'from 1s to 90d');
  const checkEvery = duration('checkEvery', '1d', 1_000, 90 * DAY, 'from 1s to 90d');
  const grace = duration('grace', '24h', 1_000, 90 * DAY, 'from 1s to 90d');
  if (durationMs(checkEvery)! > durationMs(healthyFor)!) throw badInput(`"checkEvery" (${checkEvery}) must not be longer than "healthyFor" (${healthyFor})`);
  if (durationMs(healthyFor)! / durationMs(checkEvery)! > MAX_CHECKS) {
    throw badInput(`"healthyFor" / "checkEvery" makes more than ${MAX_CHECKS} checks: check less often`);
  }
  return {
    ...common,
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
