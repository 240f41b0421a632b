// The trust boundary of a gate, in one place: the exact text an approver signs with
// `ssh-keygen -Y sign`, what a signed decision carries, and how verified keys count toward a gate.
// Workflow-safe (pure, no I/O): the workflow, the worker's activities, the CLI and the tests build
// the same text. The signature itself is checked only by the worker (src/activities/approvals).

/** The `-n` namespace of every signature: a key's signature for anything else never verifies here. */
export const SIGNATURE_NAMESPACE = 'homelab-runbooks';

export type DecisionKind = 'approve' | 'reject' | 'done' | 'abort' | 'retry';

/** What a decision binds: which run of which workflow, which step, what was decided, on which plan. */
export interface DecisionFields {
  namespace: string;
  workflowId: string;
  runId: string;
  step: string;
  decision: DecisionKind;
  /** The plan's full SHA-256 digest (64 hex); "none" at a manual step or a failed-check gate. */
  digest: string;
  /** The step's attempt, after a retry (2, 3...): a signature given before the retry never counts again. Absent for 1. */
  attempt?: number;
}

/** A decision as a client sends it signed: what it binds, its signature, and a comment (not signed). */
export type SignedDecision = DecisionFields & { signature: string; comment?: string };

/** What a signed start binds: who starts this workflow ID of this runbook, with which pre-approvals. */
export interface StartFields {
  namespace: string;
  workflowId: string;
  runbook: string;
  /** Reversible change steps whose gate is passed at start (sorted, may be empty). */
  preApproved: string[];
}

/** One line of JSON with a fixed key order: unambiguous whatever an ID contains, easy to sign by hand. */
export function decisionText(f: DecisionFields): string {
  return JSON.stringify({
    v: 'homelab-runbooks/decision/1',
    namespace: f.namespace,
    workflowId: f.workflowId,
    runId: f.runId,
    step: f.step,
    decision: f.decision,
    digest: f.digest,
    // only after a retry: every text signed before retries existed stays the same
    ...(f.attempt !== undefined && f.attempt > 1 ? { attempt: f.attempt } : {}),
  });
}

export function startText(f: StartFields): string {
  return JSON.stringify({
    v: 'homelab-runbooks/start/1',
    namespace: f.namespace,
    workflowId: f.workflowId,
    runbook: f.runbook,
    preApproved: [...f.preApproved].sort(),
  });
}

/** The one-line command that signs a text by hand (for the UI's gate details and the docs). */
export function signCommand(text: string, key = '~/.ssh/id_ed25519'): string {
  return `printf '%s' ${shellQuote(text)} | ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE} -f ${key}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The longest signature accepted (an ed25519/-sk signature is ~300-500 bytes, RSA-4096 ~900). */
export const MAX_SIGNATURE_CHARS = 4096;

/**
 * An armored `SSH SIGNATURE` as ssh-keygen writes it, or the same pasted on one line (newlines lost
 * or written as spaces / "\n" in a JSON form): back to the armored form ssh-keygen reads, or
 * undefined when it is not one.
 */
export function normalizeSignature(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.length > MAX_SIGNATURE_CHARS) return undefined;
  // blanks or a JSON-escaped "\n" may surround it: ssh-keygen ends its output with a newline
  const m = /^(?:\s|\\n)*-----BEGIN SSH SIGNATURE-----([\sA-Za-z0-9+/=\\n]*)-----END SSH SIGNATURE-----(?:\s|\\n)*$/.exec(text);
  if (!m) return undefined;
  const body = m[1]!.replace(/\\n/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return undefined;
  const lines = body.match(/.{1,70}/g) ?? [];
  return ['-----BEGIN SSH SIGNATURE-----', ...lines, '-----END SSH SIGNATURE-----', ''].join('\n');
}

/** A key the worker verified: its fingerprint is the identity; principals are its names in allowed_signers. */
export interface VerifiedKey {
  fingerprint: string;
  principals: string[];
}

/** How a verified key is shown: "alice (SHA256:…)". */
export function describeKey(k: VerifiedKey): string {
  return `${k.principals.join('/') || '?'} (${k.fingerprint})`;
}

/**
 * How many more approvals a gate needs: `required` distinct keys (one key under two names counts
 * once), and for a point of no return at least one key that is not the run's (verified) starter.
 */
export function keysNeeded(approved: readonly VerifiedKey[], required: number, irreversible: boolean, starter?: VerifiedKey): number {
  const distinct = new Set(approved.map((k) => k.fingerprint));
  let missing = Math.max(0, required - distinct.size);
  if (irreversible && starter && missing === 0 && [...distinct].every((fp) => fp === starter.fingerprint)) missing = 1;
  return missing;
}

/**
 * What the workflow hands a change activity. The activity trusts none of it: it re-runs its own
 * preflight, recomputes the digest, and verifies every signature against the allowed_signers it
 * reads itself, with the namespace, workflow ID and run ID Temporal gives the activity.
 */
export interface Authorization {
  step: string;
  /** The plan the gate showed and the approvers signed (its digest is recomputed from it). */
  plan: { target: string; commands: string[]; facts: Record<string, string>; digest: string };
  /** approvals.identity "signatures": the armored signature of each approve given at the gate. */
  signatures?: string[];
  /** approvals.identity "names": who approved, by name (a single trusted operator's inventory). */
  names?: string[];
  /** A step pre-approved at start: the signed start that lists it. */
  start?: { runbook: string; preApproved: string[]; signature: string };
  /** A change without a gate (the runbook's noGate): the activity checks its own table says so. */
  noGate?: boolean;
  /** After a retry: the step's attempt the approvals were signed for (decisionText's "attempt"). */
  attempt?: number;
}

/** The run a decision must be signed for, as the workflow itself knows it. */
export interface RunIds {
  namespace: string;
  workflowId: string;
  runId: string;
}

/** A decision as a signal or the `decide` update brings it (the UI's Send Signal form, the CLI). */
export interface DecisionInput {
  step: string;
  /** Names mode only: who decides. With signatures the key's principal is the identity. */
  by?: string;
  comment?: string;
  /** The plan digest the decider saw (full SHA-256); "none" where the gate has no plan. */
  digest?: string;
  /** Signatures mode: `ssh-keygen -Y sign -n homelab-runbooks` of decisionText(). */
  signature?: string;
  /** Signatures mode, after a retry: the attempt signed for (the gate's); a clearer refusal than a bad signature. */
  attempt?: number;
  /** What the decider signed for; when given, it must be this run (a clearer refusal than a bad signature). */
  workflowId?: string;
  runId?: string;
  namespace?: string;
}

export type Identity = 'signatures' | 'names';

/** What a gate checks a decision against, besides the gate itself. */
export interface DecisionContext {
  identity: Identity;
  /** Names mode: who may decide. */
  approvers?: readonly string[];
  run: RunIds;
}

/** The gate a decision is offered to (the parts of OpenGate the rules need). */
export interface GateView {
  step: string;
  kind: 'approval' | 'manual' | 'failed';
  digest?: string;
  approvedBy: string[];
  /** The step's attempt (2 after one retry); absent for the first. */
  attempt?: number;
}

/** The decision that goes on, and the one that stops, at each kind of gate. */
export const GO_ON: Record<GateView['kind'], DecisionKind> = { approval: 'approve', manual: 'done', failed: 'retry' };
export const STOP: Record<GateView['kind'], DecisionKind> = { approval: 'reject', manual: 'abort', failed: 'abort' };

const VALID_FOR: Record<GateView['kind'], DecisionKind[]> = {
  approval: ['approve', 'reject'],
  manual: ['done', 'abort', 'approve', 'reject'],
  failed: ['retry', 'abort'],
};

/** Upper bounds of every field a client sends (a status query must stay small whatever is sent). */
export const LIMITS = { step: 100, by: 64, comment: 500, digest: 64, id: 1000 } as const;

/**
 * Why a decision cannot apply to the open gate, or undefined when it may (signatures are then
 * verified by the worker). Pure and synchronous: the update validator and the signal handlers
 * apply the same rules.
 */
export function refusal(gate: GateView | undefined, input: DecisionInput, decision: DecisionKind, ctx: DecisionContext): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'a decision must be an object { step, ... }';
  if (typeof input.step !== 'string' || input.step === '') return 'a decision must name the step';
  if (input.step.length > LIMITS.step) return `step must be at most ${LIMITS.step} characters`;
  if (input.comment !== undefined && (typeof input.comment !== 'string' || input.comment.length > LIMITS.comment)) return `comment must be a string of at most ${LIMITS.comment} characters`;
  if (input.digest !== undefined && (typeof input.digest !== 'string' || input.digest.length > LIMITS.digest)) return `digest must be a string of at most ${LIMITS.digest} characters`;
  if (input.by !== undefined && (typeof input.by !== 'string' || input.by.length > LIMITS.by)) return `"by" must be a name of at most ${LIMITS.by} characters`;
  for (const k of ['workflowId', 'runId', 'namespace'] as const) {
    const v = input[k];
    if (v !== undefined && (typeof v !== 'string' || v.length > LIMITS.id)) return `${k} must be a string of at most ${LIMITS.id} characters`;
  }
  if (input.attempt !== undefined && (!Number.isSafeInteger(input.attempt) || input.attempt < 1)) return 'attempt must be a whole number from 1';
  if (!['approve', 'reject', 'done', 'abort', 'retry'].includes(decision)) return 'decision must be approve, reject, done, abort or retry';
  if (ctx.identity === 'signatures') {
    if (input.signature === undefined) return 'a decision must be signed: add "signature" (ssh-keygen -Y sign; the gate details show the command)';
    if (normalizeSignature(input.signature) === undefined) return '"signature" is not an SSH SIGNATURE as ssh-keygen -Y sign writes it';
    for (const k of ['namespace', 'workflowId', 'runId'] as const) {
      if (input[k] !== undefined && input[k] !== ctx.run[k]) return `the decision was signed for another run (${k} ${String(input[k])}, this run is ${ctx.run[k]})`;
    }
    if (gate && input.attempt !== undefined && input.attempt !== (gate.attempt ?? 1)) {
      return `the decision was signed for attempt ${input.attempt} of "${gate.step}"; the gate is at attempt ${gate.attempt ?? 1}: sign again`;
    }
  } else if (typeof input.by !== 'string' || input.by.trim() === '') {
    return 'a decision must say who decides ("by")';
  }
  if (!gate) return `no gate is open (step "${input.step}" is not waiting for a decision)`;
  if (input.step !== gate.step) return `step "${input.step}" is not the open gate; the run waits on "${gate.step}"`;
  if (!VALID_FOR[gate.kind].includes(decision)) return `"${decision}" does not apply to ${gate.kind} step "${gate.step}" (use ${VALID_FOR[gate.kind].join(' or ')})`;
  if (ctx.identity === 'names' && ctx.approvers && !ctx.approvers.includes(input.by!)) return `"${input.by}" is not on the approvers list`;
  const digest = input.digest === 'none' ? undefined : input.digest;
  if (digest !== undefined && gate.digest !== undefined && digest !== gate.digest) {
    return `plan digest ${digest} is stale: the plan of "${gate.step}" is now ${gate.digest}; review it and decide again`;
  }
  if (ctx.identity === 'signatures' && gate.digest !== undefined && digest === undefined) return `a signed decision must name the plan's digest (${gate.digest})`;
  if (ctx.identity === 'names' && isGoAhead(decision) && gate.approvedBy.includes(input.by!)) return `${input.by} already approved "${gate.step}"; it needs another, distinct approver`;
  return undefined;
}

/** The fields a decision's signature must cover at this gate. */
export function fieldsFor(gate: GateView, decision: DecisionKind, run: RunIds): DecisionFields {
  return { ...run, step: gate.step, decision, digest: gate.digest ?? 'none', ...(gate.attempt !== undefined && gate.attempt > 1 ? { attempt: gate.attempt } : {}) };
}

/** approve/done/retry go on; reject/abort end the run. */
export function isGoAhead(decision: DecisionKind): boolean {
  return decision === 'approve' || decision === 'done' || decision === 'retry';
}

/** Names mode: `required` distinct names, and for a point of no return at least one who is not the starter. */
export function approvalsNeeded(approvedBy: readonly string[], required: number, irreversible: boolean, requestedBy?: string): number {
  const distinct = new Set(approvedBy);
  let missing = Math.max(0, required - distinct.size);
  if (irreversible && requestedBy && missing === 0 && [...distinct].every((by) => by === requestedBy)) missing = 1;
  return missing;
}
