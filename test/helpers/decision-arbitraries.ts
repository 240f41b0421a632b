// fast-check arbitraries for decisions offered to a gate (the approve/reject/done/abort signals and
// the decide update), and the rules a decision must meet, written out independently of
// src/workflows/runbook/decision.ts: the oracle for its refusal() in both identity modes.
import fc from 'fast-check';
import type { DecisionContext, DecisionKind, GateView, RunIds } from '../../src/workflows/runbook/decision';

export const APPROVERS = ['alice', 'bob', 'carol'];
export const RUN: RunIds = { namespace: 'default', workflowId: 'k3s-rejoin-still-fawn', runId: '01a233db-f14a-7879-adfe-00502c646a23' };
export const STEPS = ['remove-stale-node', 'uninstall-k3s', 'install-k3s', 'enable-vtd'];
/** Full SHA-256 plan digests. */
export const DIGESTS = ['594a17e2334a'.padEnd(64, '0'), '0123456789ab'.padEnd(64, 'f')];
export const KINDS: DecisionKind[] = ['approve', 'reject', 'done', 'abort', 'retry'];
const RUN_FIELDS = { namespace: fc.constant(RUN.namespace), workflowId: fc.constant(RUN.workflowId), runId: fc.constant(RUN.runId) };

/** Characters that mean something to a shell, YAML or JSON, plus some unicode and control characters. */
const META = ["'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', '\r', ' ', '\t', '*', '?', '~', '#', '!', '{', '}', '[', ']', '<', '>', '=', '%', ':', ',', '\u00e9', '\u00a0', '\u001b', '\u007f', 'A', 'a', '-', '0', '.', '/'];
export const nastyString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...META), maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }),
);
export const anyValue = fc.oneof(fc.anything({ maxDepth: 2 }), nastyString, fc.double(), fc.integer());
/** A string just over a limit (and sometimes far over it). */
const over = (limit: number) => fc.oneof(fc.constant('x'.repeat(limit + 1)), fc.integer({ min: limit + 1, max: limit * 3 }).map((n) => 'y'.repeat(n)));

export const gateArb: fc.Arbitrary<GateView> = fc.record({
  step: fc.constantFrom('remove-stale-node', 'enable-vtd'),
  kind: fc.constantFrom('approval' as const, 'manual' as const, 'failed' as const),
  digest: fc.constantFrom(...DIGESTS, undefined),
  approvedBy: fc.subarray(APPROVERS, { maxLength: 1 }),
});

/** An armored SSH SIGNATURE (any base64 body: the worker verifies it, the workflow checks the form). */
export const armoredArb = fc.base64String({ minLength: 4, maxLength: 600 }).map((b) => `-----BEGIN SSH SIGNATURE-----\n${b.match(/.{1,70}/g)!.join('\n')}\n-----END SSH SIGNATURE-----\n`);
/** The same pasted the ways a browser form or a shell mangles it. */
export const signatureArb = fc.oneof(
  armoredArb,
  armoredArb.map((s) => s.replace(/\n/g, '')),
  armoredArb.map((s) => s.replace(/\n/g, ' ')),
  // "\n" written out (a JSON form taken literally); the trailing newline left off, see test/unit/decision.test.ts
  armoredArb.map((s) => s.trimEnd().replace(/\n/g, '\\n')),
);
export const notSignatureArb = fc.oneof(
  anyValue,
  fc.constantFrom('sigA', 'alice', '-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----', '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----'),
  armoredArb.map((s) => s.replace('-----END SSH SIGNATURE-----', '')),
  armoredArb.map((s) => s.replace(/\n(.)/, '\n$(reboot)$1')),
  armoredArb.map((s) => `${s}; rm -rf /`),
  fc.constant(`-----BEGIN SSH SIGNATURE-----\n${'QUFB'.repeat(1100)}\n-----END SSH SIGNATURE-----\n`),
);

/** Decisions that are mostly wrong in one or more ways, and sometimes right. */
export function decisionArb(opts: { signatures: boolean }) {
  const fields = {
    step: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('remove-stale-node', 'enable-vtd') }, fc.constantFrom(...STEPS, '', ' remove-stale-node', 'REMOVE-STALE-NODE'), over(100), anyValue),
    by: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...APPROVERS) }, fc.constantFrom('Alice', 'alice ', ' bob', 'mallory', '', '   ', 'alice\n', 'root'), over(64), anyValue),
    decision: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...KINDS) }, fc.constantFrom('Approve', 'yes', '', 'approve '), anyValue),
    comment: fc.oneof({ weight: 3, arbitrary: nastyString }, over(500), anyValue),
    digest: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...DIGESTS, 'none') }, fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{12}$/), over(64), anyValue),
    signature: fc.oneof({ weight: opts.signatures ? 8 : 1, arbitrary: signatureArb }, notSignatureArb),
    workflowId: fc.oneof({ weight: 4, arbitrary: fc.constant(RUN.workflowId) }, fc.constantFrom('k3s-rejoin-other', RUN.runId), over(1000), anyValue),
    runId: fc.oneof({ weight: 4, arbitrary: fc.constant(RUN.runId) }, fc.constantFrom('01a233db-0000-0000-0000-000000000000', RUN.workflowId), over(1000), anyValue),
    namespace: fc.oneof({ weight: 4, arbitrary: fc.constant(RUN.namespace) }, fc.constantFrom('prod', 'Default'), over(1000), anyValue),
  };
  if (!opts.signatures) {
    // names mode: the fields a name-only client sends
    const { step, by, decision, comment, digest } = fields;
    const named = { step, by, decision, comment, digest };
    // what a name-only client sends, right but for the gate it meets (its step, kind and digest)
    const namedForSomeGate = fc.record(
      { step: fc.constantFrom('remove-stale-node', 'enable-vtd'), by: fc.constantFrom(...APPROVERS), decision: fc.constantFrom(...KINDS), digest: fc.constantFrom(...DIGESTS, 'none'), comment: nastyString },
      { requiredKeys: ['step', 'by', 'decision'] },
    );
    return fc.oneof(
      { weight: 1, arbitrary: anyValue },
      { weight: 1, arbitrary: namedForSomeGate },
      { weight: 3, arbitrary: fc.record(named, { requiredKeys: [] }) },
      { weight: 6, arbitrary: fc.record(named, { requiredKeys: ['step', 'by', 'decision'] }) },
      { weight: 1, arbitrary: fc.record(fields, { requiredKeys: ['step', 'by', 'decision'] }) },
    );
  }
  // what a signing client sends, right but for the gate it meets (its step, kind and digest)
  const signedForSomeGate = fc.record(
    { step: fc.constantFrom('remove-stale-node', 'enable-vtd'), decision: fc.constantFrom(...KINDS), digest: fc.constantFrom(...DIGESTS, 'none'), signature: signatureArb, ...RUN_FIELDS, comment: nastyString },
    { requiredKeys: ['step', 'decision', 'digest', 'signature'] },
  );
  return fc.oneof(
    { weight: 1, arbitrary: anyValue },
    { weight: 3, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 8, arbitrary: fc.record(fields, { requiredKeys: ['step', 'decision', 'digest', 'signature'] }) },
    { weight: 6, arbitrary: signedForSomeGate },
  );
}

/** A signed decision that is right for the gate (the base that one mistake is made in). */
export function goodSigned(gate: GateView, signature: string, decision: DecisionKind): Record<string, unknown> {
  return { step: gate.step, decision, digest: gate.digest ?? 'none', signature, ...RUN };
}

export interface Rule {
  /** Why the decision cannot apply, as the refusal must say it. */
  reason: RegExp;
}

const VALID_FOR = { approval: ['approve', 'reject'], manual: ['done', 'abort', 'approve', 'reject'], failed: ['retry', 'abort'] } as const;

/**
 * Every rule a decision breaks (empty: it must be applied). Written from the rules: a
 * decision is an object naming the open gate's step, with fields of bounded size, a decision kind
 * that applies to the gate, and the plan digest the gate shows (not another); with names, an
 * approver on the list who did not approve yet; with signatures, an SSH signature made for this run.
 */
export function brokenRules(gate: GateView | undefined, d: unknown, decision: unknown, ctx: DecisionContext): Rule[] {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return [{ reason: /must be an object/ }];
  const o = d as Record<string, unknown>;
  const broken: RegExp[] = [];
  const str = (v: unknown): v is string => typeof v === 'string';
  if (!str(o.step) || o.step === '') broken.push(/must name the step/);
  else if (o.step.length > 100) broken.push(/step must be at most 100 characters/);
  if (o.comment !== undefined && (!str(o.comment) || o.comment.length > 500)) broken.push(/comment must be a string of at most 500 characters/);
  if (o.digest !== undefined && (!str(o.digest) || o.digest.length > 64)) broken.push(/digest must be a string of at most 64 characters/);
  if (o.by !== undefined && (!str(o.by) || o.by.length > 64)) broken.push(/"by" must be a name of at most 64 characters/);
  for (const k of ['workflowId', 'runId', 'namespace'] as const) {
    if (o[k] !== undefined && (!str(o[k]) || o[k].length > 1000)) broken.push(new RegExp(`${k} must be a string of at most 1000 characters`));
  }
  const kind = KINDS.includes(decision as DecisionKind) ? (decision as DecisionKind) : undefined;
  if (!kind) broken.push(/decision must be approve, reject, done, abort or retry/);
  if (ctx.identity === 'signatures') {
    if (o.signature === undefined) broken.push(/a decision must be signed/);
    else if (!wellFormedSignature(o.signature)) broken.push(/"signature" is not an SSH SIGNATURE/);
    for (const k of ['namespace', 'workflowId', 'runId'] as const) {
      if (str(o[k]) && o[k].length <= 1000 && o[k] !== ctx.run[k]) broken.push(new RegExp(`signed for another run \\(${k} `));
    }
  } else if (!str(o.by) || o.by.trim() === '') broken.push(/who decides/);
  if (!gate) broken.push(/no gate is open/);
  else {
    if (str(o.step) && o.step !== '' && o.step !== gate.step) broken.push(/is not the open gate/);
    if (kind && !(VALID_FOR[gate.kind] as readonly string[]).includes(kind)) broken.push(/does not apply to/);
    if (ctx.identity === 'names' && str(o.by) && o.by.length <= 64 && !ctx.approvers!.includes(o.by)) broken.push(/is not on the approvers list/);
    const digest = o.digest === 'none' ? undefined : o.digest;
    if (str(digest) && digest.length <= 64 && gate.digest !== undefined && digest !== gate.digest) broken.push(/is stale/);
    if (ctx.identity === 'signatures' && gate.digest !== undefined && digest === undefined) broken.push(/must name the plan's digest/);
    const goAhead = kind === 'approve' || kind === 'done' || kind === 'retry';
    if (ctx.identity === 'names' && goAhead && str(o.by) && gate.approvedBy.includes(o.by)) broken.push(/already approved/);
  }
  return broken.map((reason) => ({ reason }));
}

/** The armored form (or the same on one line): BEGIN, base64, END; independent of normalizeSignature. */
export function wellFormedSignature(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 4096) return false;
  const m = /^\s*-----BEGIN SSH SIGNATURE-----(.*)-----END SSH SIGNATURE-----\s*$/s.exec(v);
  if (!m) return false;
  // newlines lost, turned into spaces, or written as "\n" by a JSON form
  const body = m[1]!.split('\\n').join('').replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(body);
}
