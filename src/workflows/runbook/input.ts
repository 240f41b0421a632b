// What every runbook's single object input shares (the UI's Start Workflow form sends one JSON
// value): the object itself, no unknown fields, and the common fields, checked before any step runs
// so a typo ends the run at once instead of failing a step later.
import { ApplicationFailure } from '@temporalio/workflow';
import { normalizeSignature } from './decision';
import { durationMs } from './duration';

/** The fields every runbook takes. */
export interface CommonInput {
  /** Run every check, change nothing, return the plan. */
  dryRun?: boolean;
  /** Change steps whose approval gate is passed at start (unattended runs). */
  preApproved?: string[];
  /** Who asks for the run (the CLI fills it in); never the only approver of a point of no return. */
  requestedBy?: string;
  /** How long a gate may wait for a decision before the run ends safely, e.g. "4h". */
  gateDeadline?: string;
  /** The starter's `ssh-keygen -Y sign` of startText(): who starts the run, and its pre-approvals. */
  startSignature?: string;
}

export interface CheckedCommon {
  dryRun: boolean;
  preApproved: string[];
  requestedBy?: string;
  gateDeadline?: string;
  startSignature?: string;
}

export function badInput(why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`bad input: ${why}`, 'BadInput');
}

export interface InputShape {
  /** The runbook's own fields, besides the common ones. */
  fields: string[];
  /** Its change steps: what `preApproved` may list (none: the runbook takes no preApproved). */
  changeSteps?: string[];
  /** Its points of no return: never pre-approved, they always wait at their gate. */
  irreversibleSteps?: string[];
  /** An example for the error message, e.g. '{"node": "k3s-vm-still-fawn"}'. */
  example: string;
  /** May the input be left out (every field has a default)? */
  optional?: boolean;
}

/** The input as a record of known fields, and its common fields checked. */
export function checkCommonInput(input: unknown, shape: InputShape): { i: Record<string, unknown>; common: CheckedCommon } {
  if (shape.optional && (input === undefined || input === null)) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badInput(`expected one JSON object like ${shape.example}`);
  const keys = [...shape.fields, 'dryRun', ...(shape.changeSteps ? ['preApproved'] : []), 'requestedBy', 'gateDeadline', 'startSignature'];
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((k) => !keys.includes(k));
  if (unknown.length) throw badInput(`unknown field(s) ${unknown.join(', ')} (allowed: ${keys.join(', ')})`);
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') throw badInput('"dryRun" must be true or false');
  const pre = i.preApproved;
  const steps = shape.changeSteps ?? [];
  if (pre !== undefined && (!Array.isArray(pre) || pre.some((s) => typeof s !== 'string' || !steps.includes(s)))) {
    throw badInput(`"preApproved" must list change steps among ${steps.join(', ')}`);
  }
  const noReturn = ((pre as string[] | undefined) ?? []).filter((s) => shape.irreversibleSteps?.includes(s));
  if (noReturn.length) {
    throw badInput(`"preApproved" names ${noReturn.join(', ')}: a point of no return is never pre-approved, it always waits at its gate`);
  }
  if (i.startSignature !== undefined && normalizeSignature(i.startSignature) === undefined) {
    throw badInput('"startSignature" must be the armored SSH SIGNATURE that `ssh-keygen -Y sign` writes (at most 4096 characters)');
  }
  if (i.requestedBy !== undefined && (typeof i.requestedBy !== 'string' || !/^[\w.@-]{1,64}$/.test(i.requestedBy))) {
    throw badInput('"requestedBy" must be a user name (letters, digits, . _ @ -)');
  }
  if (i.gateDeadline !== undefined && (typeof i.gateDeadline !== 'string' || durationMs(i.gateDeadline) === undefined)) {
    throw badInput('"gateDeadline" must be a duration like "90s", "30m", "4h" or "2d"');
  }
  return {
    i,
    common: {
      dryRun: (i.dryRun as boolean | undefined) ?? false,
      preApproved: (pre as string[] | undefined) ?? [],
      requestedBy: i.requestedBy as string | undefined,
      gateDeadline: i.gateDeadline as string | undefined,
      startSignature: i.startSignature as string | undefined,
    },
  };
}
