// The program's single object input, checked before anything starts: a typo in a phase's options
// must fail now, not weeks later when that phase begins.
import { ApplicationFailure } from '@temporalio/workflow';
import { checkFrigateInput } from './frigate-migration-input';
import { checkRejoinInput } from './k3s-rejoin-input';
import { checkLxcRetirementInput } from './lxc-retirement-input';
import { checkPbsMigrationInput } from './pbs-migration-input';
import { normalizeSignature } from './runbook/decision';
import { durationMs } from './runbook/duration';

export const PROGRAM_STEPS_IN_ORDER = ['rejoin', 'soak', 'pbs-migration', 'frigate-migration', 'lxc-retirement'] as const;
export type ProgramStep = (typeof PROGRAM_STEPS_IN_ORDER)[number];

export interface RecoveryProgramInput {
  /** The K3s node to bring back and move the services onto, e.g. "k3s-vm-still-fawn". */
  node: string;
  /** How long to watch the node after the rejoin before Phase 2: "7d" by default, "1d" to "14d". */
  soak?: string;
  /** How often the soak checks the node (Ready, etcd healthy). Default "1d". */
  checkEvery?: string;
  /** A rehearsal on the lab: allows a soak shorter than a day (e.g. "30s"). */
  rehearsal?: boolean;
  /** Begin at a later step when the earlier ones were done by hand (e.g. "soak" after a manual rejoin). */
  startAt?: ProgramStep;
  dryRun?: boolean;
  requestedBy?: string;
  gateDeadline?: string;
  /** The starter's `ssh-keygen -Y sign` of startText() (`runbook start --key` adds it): names who started the program. */
  startSignature?: string;
  /** Extra input for each phase, passed as is (e.g. lxcRetirement: { grace: "48h" }). */
  phases?: { rejoin?: object; pbsMigration?: object; frigateMigration?: object; lxcRetirement?: object };
}

export interface ProgramInput {
  node: string;
  soak: string;
  checkEvery: string;
  startAt: ProgramStep;
  dryRun: boolean;
  requestedBy?: string;
  gateDeadline?: string;
  startSignature?: string;
  phases: NonNullable<RecoveryProgramInput['phases']>;
}

const KEYS = new Set(['node', 'soak', 'checkEvery', 'rehearsal', 'startAt', 'dryRun', 'requestedBy', 'gateDeadline', 'startSignature', 'phases']);
const PHASE_KEYS = new Set(['rejoin', 'pbsMigration', 'frigateMigration', 'lxcRetirement']);
const DAY = 86_400_000;

export function checkProgramInput(input: unknown): ProgramInput {
  const bad = (why: string) => ApplicationFailure.nonRetryable(`bad input: ${why}`, 'BadInput');
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw bad('expected one JSON object like {"node": "k3s-vm-still-fawn", "soak": "7d"}');
  }
  const i = input as Record<string, unknown>;
  const unknown = Object.keys(i).filter((k) => !KEYS.has(k));
  if (unknown.length) throw bad(`unknown field(s) ${unknown.join(', ')} (allowed: ${[...KEYS].join(', ')})`);
  if (typeof i.node !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(i.node)) {
    throw bad(`"node" must be a K3s node name (lowercase letters, digits, -), got ${JSON.stringify(i.node)}`);
  }
  if (i.rehearsal !== undefined && typeof i.rehearsal !== 'boolean') throw bad('"rehearsal" must be true or false');
  const soak = i.soak ?? '7d';
  const soakMs = typeof soak === 'string' ? durationMs(soak) : undefined;
  if (soakMs === undefined) throw bad('"soak" must be a duration like "7d"');
  if (soakMs > 14 * DAY || (soakMs < DAY && i.rehearsal !== true)) {
    throw bad(`"soak" must be from 1d to 14d (got ${String(soak)}); shorter soaks are for rehearsals ("rehearsal": true)`);
  }
  const every = i.checkEvery ?? '1d';
  const everyMs = typeof every === 'string' ? durationMs(every) : undefined;
  if (everyMs === undefined || everyMs <= 0 || everyMs > soakMs) throw bad('"checkEvery" must be a duration no longer than the soak, like "1d"');
  const startAt = i.startAt ?? 'rejoin';
  if (!(PROGRAM_STEPS_IN_ORDER as readonly unknown[]).includes(startAt)) {
    throw bad(`"startAt" must be one of ${PROGRAM_STEPS_IN_ORDER.join(', ')}`);
  }
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') throw bad('"dryRun" must be true or false');
  if (i.requestedBy !== undefined && (typeof i.requestedBy !== 'string' || !/^[\w.@-]{1,64}$/.test(i.requestedBy))) {
    throw bad('"requestedBy" must be a user name (letters, digits, . _ @ -)');
  }
  if (i.gateDeadline !== undefined && (typeof i.gateDeadline !== 'string' || durationMs(i.gateDeadline) === undefined)) {
    throw bad('"gateDeadline" must be a duration like "90s", "30m", "4h" or "2d"');
  }
  if (i.startSignature !== undefined && normalizeSignature(i.startSignature) === undefined) {
    throw bad('"startSignature" must be the armored SSH SIGNATURE that `ssh-keygen -Y sign` writes (at most 4096 characters)');
  }
  const phases = i.phases ?? {};
  if (typeof phases !== 'object' || phases === null || Array.isArray(phases)) throw bad('"phases" must be an object');
  for (const [k, v] of Object.entries(phases)) {
    if (!PHASE_KEYS.has(k)) throw bad(`unknown phase "${k}" in "phases" (allowed: ${[...PHASE_KEYS].join(', ')})`);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`"phases.${k}" must be an object`);
  }
  const checked: ProgramInput = {
    node: i.node,
    soak: soak as string,
    checkEvery: every as string,
    startAt: startAt as ProgramStep,
    dryRun: (i.dryRun as boolean | undefined) ?? false,
    requestedBy: i.requestedBy as string | undefined,
    gateDeadline: i.gateDeadline as string | undefined,
    ...(i.startSignature !== undefined ? { startSignature: i.startSignature as string } : {}),
    phases: phases as ProgramInput['phases'],
  };
  // each phase's own input check, now: a typo must not wait for weeks to be found
  for (const [name, phaseInput] of Object.entries(phaseInputs(checked))) {
    try {
      PHASE_CHECKS[name as keyof typeof PHASE_CHECKS](phaseInput);
    } catch (err) {
      throw bad(`phases.${name}: ${err instanceof Error ? err.message.replace(/^bad input: /, '') : String(err)}`);
    }
  }
  return checked;
}

const PHASE_CHECKS = {
  rejoin: checkRejoinInput,
  pbsMigration: checkPbsMigrationInput,
  frigateMigration: checkFrigateInput,
  lxcRetirement: checkLxcRetirementInput,
};

/** The one input object of each phase: the program's common fields, then what `phases` adds. */
export function phaseInputs(input: ProgramInput): Record<keyof typeof PHASE_CHECKS, Record<string, unknown>> {
  const common: Record<string, unknown> = { dryRun: input.dryRun };
  if (input.requestedBy !== undefined) common.requestedBy = input.requestedBy;
  if (input.gateDeadline !== undefined) common.gateDeadline = input.gateDeadline;
  return {
    rejoin: { ...common, node: input.node, ...input.phases.rejoin },
    pbsMigration: { ...common, ...input.phases.pbsMigration },
    frigateMigration: { ...common, ...input.phases.frigateMigration },
    lxcRetirement: { ...common, ...input.phases.lxcRetirement },
  };
}
