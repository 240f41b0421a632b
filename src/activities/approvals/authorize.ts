// The worker's rules for running a change: the approved plan is the one signed for this very run and
// step, by enough distinct keys of allowed_signers (or names of `approvers` in names mode); a
// pre-approval only for a reversible step a signed start lists; no gate only where the worker's own
// table says so; and the plan the change's own preflight renders now is the approved one. Every
// refusal is a non-retryable NotAuthorized failure raised before any change command.
import { ApplicationFailure } from '@temporalio/common';
import {
  decisionText,
  describeKey,
  keysNeeded,
  startText,
  type Authorization,
  type VerifiedKey,
} from '../../workflows/runbook/decision';
import type { StepPlan } from '../../workflows/runbook/types';
import { planOf } from '../plan';
import type { ChangeStep } from './change-steps';
import { verifySignature } from './verify';

/** Who is asking, as Temporal told the activity (never from its input). */
export interface RunIdentity {
  namespace: string;
  workflowId: string;
  runId: string;
  attempt: number;
}

/** The inventory's approval settings, read at each call. */
export interface ApprovalSettings {
  identity: 'signatures' | 'names';
  allowedSigners?: string;
  approvers: string[];
  twoPersonIrreversible: boolean;
}

export interface Approval {
  /** The approved plan, its digest recomputed from its content. */
  plan: StepPlan;
  /** Who approved, in words, for the step's evidence. */
  by: string;
}

const MAX_PLAN_CHARS = 256 * 1024;
const MAX_COMMANDS = 1000;
const MAX_SIGNATURES = 8;
const MAX_PREAPPROVED = 32;

export function notAuthorized(reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${reason} — nothing was run`, 'NotAuthorized');
}

/** Checks the authorization a change was handed; the approved plan and who approved it, or NotAuthorized. */
export async function authorizeApproval(run: RunIdentity, step: ChangeStep, raw: unknown, settings: ApprovalSettings): Promise<Approval> {
  const what = `${step.step} of ${run.workflowId}`;
  if (!isObject(raw)) throw notAuthorized(`${what}: no authorization was given`);
  const auth = raw as Partial<Authorization>;
  if (auth.step !== step.step) throw notAuthorized(`${what}: the authorization is for step ${JSON.stringify(auth.step ?? null)}`);
  const plan = approvedPlan(auth.plan, what);

  if (step.noGate) return { plan, by: 'no gate (the worker\'s table of steps says so)' };
  if (auth.noGate) throw notAuthorized(`${what}: this step has a gate; "noGate" is not an approval`);

  const given = settings.identity === 'signatures' ? list(auth.signatures, 'signatures', what) : list(auth.names, 'names', what);
  if (given.length === 0 && auth.start !== undefined) return preApproval(run, step, auth.start, plan, settings);
  if (given.length === 0) {
    if (settings.identity === 'signatures' && list(auth.names, 'names', what).length) {
      throw notAuthorized(`${what}: this inventory takes signed approvals (approvals.identity: signatures); a name is not one`);
    }
    throw notAuthorized(`${what}: no approval was given`);
  }
  const required = step.irreversible && settings.twoPersonIrreversible ? 2 : 1;
  return settings.identity === 'signatures'
    ? signedApproval(run, step, given, auth.start, plan, required, settings, attemptOf(auth.attempt, what))
    : namedApproval(step, given, plan, required, settings, what);
}

async function signedApproval(
  run: RunIdentity,
  step: ChangeStep,
  signatures: string[],
  start: Authorization['start'] | undefined,
  plan: StepPlan,
  required: number,
  settings: ApprovalSettings,
  attempt: number | undefined,
): Promise<Approval> {
  const what = `${step.step} of ${run.workflowId}`;
  const allowed = allowedSignersOf(settings, what);
  const text = decisionText({ namespace: run.namespace, workflowId: run.workflowId, runId: run.runId, step: step.step, decision: 'approve', digest: plan.digest, attempt });
  const keys: VerifiedKey[] = [];
  for (const [i, signature] of signatures.entries()) {
    const v = await verifySignature(text, signature, allowed);
    if (!v.ok) throw notAuthorized(`${what}: approval ${i + 1} of ${signatures.length} is not a valid approval of this run's plan ${plan.digest}: ${v.reason}`);
    keys.push(v.key);
  }
  // the starter, when the run was started signed, is never the only key on a point of no return
  const signedStart = isObject(start) && typeof start.signature === 'string' && start.signature !== '';
  const starter = signedStart ? (await verifyStart(run, step, start, allowed)).key : undefined;
  const missing = keysNeeded(keys, required, step.irreversible, starter);
  const distinct = [...new Map(keys.map((k) => [k.fingerprint, k])).values()];
  if (missing > 0) {
    throw notAuthorized(
      `${what}: ${distinct.length} distinct key${distinct.length === 1 ? '' : 's'} approved (${distinct.map(describeKey).join(', ')}), ` +
        `${step.irreversible ? 'this point of no return needs' : 'it needs'} ${missing} more${starter && step.irreversible ? ' (the run\'s starter cannot be its only approver)' : ''}`,
    );
  }
  return { plan, by: `approved by ${distinct.map(describeKey).join(', ')}, signatures verified by the worker` };
}

/** The step's attempt the approvals were signed for (after a retry of the step), or undefined for the first. */
function attemptOf(raw: unknown, what: string): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1 || raw > 10_000) throw notAuthorized(`${what}: "attempt" must be a whole number from 1`);
  return raw;
}

function namedApproval(step: ChangeStep, names: string[], plan: StepPlan, required: number, settings: ApprovalSettings, what: string): Approval {
  const unknown = names.filter((n) => !settings.approvers.includes(n));
  if (unknown.length) throw notAuthorized(`${what}: ${unknown.map((n) => JSON.stringify(n.slice(0, 64))).join(', ')} is not on the approvers list`);
  const distinct = [...new Set(names)];
  if (distinct.length < required) throw notAuthorized(`${what}: ${distinct.length} approver approved; ${step.irreversible ? 'this point of no return needs' : 'it needs'} ${required}`);
  return { plan, by: `approved by ${distinct.join(', ')} (approvals.identity: names)` };
}

async function preApproval(run: RunIdentity, step: ChangeStep, start: unknown, plan: StepPlan, settings: ApprovalSettings): Promise<Approval> {
  const what = `${step.step} of ${run.workflowId}`;
  if (step.irreversible) throw notAuthorized(`${what}: a point of no return is never pre-approved; it waits at its gate`);
  const s = startOf(start, what);
  if (s.runbook !== step.runbook) throw notAuthorized(`${what}: the start names runbook ${JSON.stringify(s.runbook.slice(0, 64))}, this step is ${step.runbook}'s`);
  if (!s.preApproved.includes(step.step)) throw notAuthorized(`${what}: the start does not pre-approve ${step.step}`);
  if (settings.identity === 'names') return { plan, by: 'pre-approved at start (approvals.identity: names)' };
  const { key } = await verifyStart(run, step, s, allowedSignersOf(settings, what));
  return { plan, by: `pre-approved at start by ${describeKey(key)}, signature verified by the worker` };
}

async function verifyStart(run: RunIdentity, step: ChangeStep, start: unknown, allowed: string): Promise<{ key: VerifiedKey }> {
  const what = `${step.step} of ${run.workflowId}`;
  const s = startOf(start, what);
  const text = startText({ namespace: run.namespace, workflowId: run.workflowId, runbook: s.runbook, preApproved: s.preApproved });
  const v = await verifySignature(text, s.signature, allowed);
  if (!v.ok) throw notAuthorized(`${what}: the signed start is not valid for this workflow: ${v.reason}`);
  return { key: v.key };
}

/**
 * The plan the change's own preflight rendered now against the approved one: the same digest; or, on a
 * retry after a lost attempt, the same change progressed (same target; every command one the
 * approvers saw or a `#` comment, or the step's pinning facts unchanged). Says which, or refuses.
 */
export function checkFreshPlan(run: RunIdentity, step: ChangeStep, approved: StepPlan, fresh: StepPlan): string {
  const what = `${step.step} of ${run.workflowId}`;
  if (fresh.digest === approved.digest) return `the worker's own preflight rendered the approved plan ${approved.digest}`;
  const sameTarget = fresh.target === approved.target;
  const isComment = (c: string) => c.trimStart().startsWith('#');
  const subset = fresh.commands.every((c) => isComment(c) || approved.commands.includes(c));
  const pinned = (step.sameChangeFacts ?? []).length > 0 && step.sameChangeFacts!.every((k) => fresh.facts[k] !== undefined && fresh.facts[k] === approved.facts[k]);
  if (run.attempt > 1 && sameTarget && (subset || pinned)) {
    return `attempt ${run.attempt}: the preflight's plan ${fresh.digest} is what is left of the approved plan ${approved.digest}`;
  }
  throw notAuthorized(`${what}: the plan changed since it was approved (digest ${approved.digest} → ${fresh.digest}: ${diffPlans(approved, fresh)}); approve the new plan`);
}

function diffPlans(a: StepPlan, b: StepPlan): string {
  const parts: string[] = [];
  if (a.target !== b.target) parts.push(`target ${a.target} → ${b.target}`);
  for (const k of [...new Set([...Object.keys(a.facts), ...Object.keys(b.facts)])].sort()) {
    if (a.facts[k] !== b.facts[k]) parts.push(`${k}: ${clip(a.facts[k] ?? '(none)')} → ${clip(b.facts[k] ?? '(none)')}`);
  }
  if (JSON.stringify(a.commands) !== JSON.stringify(b.commands)) parts.push('commands differ');
  return parts.slice(0, 6).join('; ') || 'commands differ';
}

function approvedPlan(raw: unknown, what: string): StepPlan {
  if (!isObject(raw)) throw notAuthorized(`${what}: the authorization carries no plan`);
  const p = raw as Record<string, unknown>;
  let size = 0;
  try {
    size = JSON.stringify(p).length;
  } catch {
    size = Infinity;
  }
  const facts = p.facts;
  const ok =
    size <= MAX_PLAN_CHARS &&
    typeof p.target === 'string' &&
    Array.isArray(p.commands) && p.commands.length <= MAX_COMMANDS && p.commands.every((c) => typeof c === 'string') &&
    isObject(facts) && Object.values(facts).every((v) => typeof v === 'string') &&
    typeof p.digest === 'string';
  if (!ok) throw notAuthorized(`${what}: the approved plan is malformed (target, commands, facts of strings and digest, at most ${MAX_PLAN_CHARS} characters)`);
  const plan = planOf(p.target as string, p.commands as string[], facts as Record<string, string>);
  if (plan.digest !== p.digest) throw notAuthorized(`${what}: the approved plan's digest ${clip(p.digest as string)} is not the digest of its content (${plan.digest})`);
  return plan;
}

function startOf(raw: unknown, what: string): { runbook: string; preApproved: string[]; signature: unknown } {
  const s = isObject(raw) ? (raw as Record<string, unknown>) : {};
  const pre = s.preApproved;
  if (typeof s.runbook !== 'string' || s.runbook.length > 100 || !Array.isArray(pre) || pre.length > MAX_PREAPPROVED || !pre.every((x) => typeof x === 'string' && x.length <= 100)) {
    throw notAuthorized(`${what}: the start is malformed (runbook, preApproved, signature)`);
  }
  return { runbook: s.runbook, preApproved: pre as string[], signature: s.signature };
}

function list(v: unknown, name: string, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_SIGNATURES || !v.every((x) => typeof x === 'string')) {
    throw notAuthorized(`${what}: "${name}" must be a list of at most ${MAX_SIGNATURES} strings`);
  }
  return v as string[];
}

function allowedSignersOf(settings: ApprovalSettings, what: string): string {
  if (!settings.allowedSigners) throw notAuthorized(`${what}: the inventory names no approvals.allowedSigners to verify signatures against`);
  return settings.allowedSigners;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
