// Signed decisions (approvals.identity: signatures), property-based: refusal() applies exactly the
// rules of issue 11 to whatever a client sends before the worker is asked to verify a signature.
// The names-mode twin is in test/unit/bad-input-property.test.ts; the rules themselves are written
// out in test/helpers/decision-arbitraries.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LIMITS, normalizeSignature, refusal, type DecisionContext, type DecisionInput, type DecisionKind, type GateView } from '../../src/workflows/runbook/decision';
import {
  APPROVERS,
  anyValue,
  brokenRules,
  decisionArb,
  gateArb,
  goodSigned,
  KINDS,
  notSignatureArb,
  RUN,
  signatureArb,
  wellFormedSignature,
} from '../helpers/decision-arbitraries';

const SIGNED: DecisionContext = { identity: 'signatures', approvers: APPROVERS, run: RUN };
const VALID: Record<GateView['kind'], DecisionKind[]> = { approval: ['approve', 'reject'], manual: ['done', 'abort', 'approve', 'reject'], failed: ['retry', 'abort'] };
const validFor = (g: GateView): DecisionKind[] => VALID[g.kind];
const decisionOf = (d: unknown) => (typeof d === 'object' && d !== null ? (d as Record<string, unknown>).decision : undefined) as DecisionKind;

describe('signed decisions, property-based', () => {
  it('refusal() applies exactly the rules: every unsigned, malformed, oversized, foreign or stale decision is refused with a reason naming a rule it breaks (5000 cases)', (t) => {
    let refused = 0;
    let passed = 0;
    fc.assert(
      fc.property(gateArb, decisionArb({ signatures: true }), fc.boolean(), (gate, d, withGate) => {
        const g = withGate ? gate : undefined;
        const reason = refusal(g, d as DecisionInput, decisionOf(d), SIGNED);
        const broken = brokenRules(g, d, decisionOf(d), SIGNED);
        if (broken.length === 0) {
          assert.equal(reason, undefined, `refused a well-formed signed decision: ${JSON.stringify(d)}`);
          passed++;
          return;
        }
        assert.equal(typeof reason, 'string', `not refused: ${JSON.stringify(d)} (breaks ${broken.map((r) => r.reason).join(', ')})`);
        assert.ok(broken.some((r) => r.reason.test(reason!)), `"${reason}" names none of the broken rules ${broken.map((r) => r.reason).join(', ')}`);
        assert.ok(reason!.length < 400, 'a refusal stays short whatever was sent');
        refused++;
      }),
      { numRuns: 5000 },
    );
    t.diagnostic(`${refused} refused, ${passed} passed on to the worker's verification`);
    assert.ok(refused > 3000 && passed > 60, `refused ${refused}, passed ${passed}`);
  });

  it('nothing without a signature passes, whatever "by" names (a listed approver, the starter, anyone) (2000 cases)', () => {
    fc.assert(
      fc.property(gateArb, fc.oneof(fc.constantFrom(...APPROVERS), anyValue), fc.oneof(fc.constant(undefined), notSignatureArb), fc.constantFrom(...KINDS), (gate, by, signature, decision) => {
        const d = { ...goodSigned(gate, '', decision), by, signature };
        if (wellFormedSignature(signature)) return;
        const reason = refusal(gate, d as DecisionInput, decision, SIGNED);
        assert.equal(typeof reason, 'string', `an unsigned decision passed: ${JSON.stringify(d)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('a well-formed signature in any pasted form passes to the worker only when made for this run, this step and this plan (3000 cases)', () => {
    const otherRun = fc.oneof(
      fc.record({ workflowId: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== RUN.workflowId) }),
      fc.record({ runId: fc.uuid().filter((s) => s !== RUN.runId) }),
      fc.record({ namespace: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== RUN.namespace) }),
    );
    fc.assert(
      fc.property(gateArb, signatureArb, fc.option(otherRun, { nil: undefined }), fc.boolean(), (gate, signature, foreign, staleDigest) => {
        const decision = validFor(gate)[0]!;
        const d = { ...goodSigned(gate, signature, decision), ...(foreign ?? {}), ...(staleDigest ? { digest: 'e'.repeat(64) } : {}) };
        const reason = refusal(gate, d as DecisionInput, decision, SIGNED);
        assert.notEqual(normalizeSignature(signature), undefined);
        if (foreign) assert.match(reason ?? '(passed)', /signed for another run/, JSON.stringify(foreign));
        else if (staleDigest && gate.digest !== undefined) assert.match(reason ?? '(passed)', /is stale/);
        else assert.equal(reason, undefined, JSON.stringify(d));
      }),
      { numRuns: 3000 },
    );
  });

  it('a gate with a plan is never passed without its digest (1000 cases)', () => {
    fc.assert(
      fc.property(gateArb.filter((g) => g.digest !== undefined), signatureArb, fc.constantFrom(undefined, 'none'), (gate, signature, digest) => {
        const d = { ...goodSigned(gate, signature, validFor(gate)[0]!), digest };
        assert.match(refusal(gate, d as DecisionInput, validFor(gate)[0]!, SIGNED) ?? '(passed)', /must name the plan's digest/);
      }),
      { numRuns: 1000 },
    );
  });

  it('the approvers list plays no part: the outcome is the same whatever list the inventory has (2000 cases)', () => {
    fc.assert(
      fc.property(gateArb, decisionArb({ signatures: true }), fc.array(fc.string(), { maxLength: 4 }), (gate, d, approvers) => {
        const decision = decisionOf(d);
        assert.equal(refusal(gate, d as DecisionInput, decision, { ...SIGNED, approvers }), refusal(gate, d as DecisionInput, decision, SIGNED));
        assert.equal(refusal(gate, d as DecisionInput, decision, { ...SIGNED, approvers: undefined }), refusal(gate, d as DecisionInput, decision, SIGNED));
      }),
      { numRuns: 2000 },
    );
  });

  it('one field over its limit in an otherwise good signed decision: refused for that field (1000 cases)', () => {
    const fieldOver = fc.constantFrom(
      ['step', LIMITS.step, /step must be at most/] as const,
      ['by', LIMITS.by, /"by" must be a name of at most/] as const,
      ['comment', LIMITS.comment, /comment must be a string of at most/] as const,
      ['digest', LIMITS.digest, /digest must be a string of at most/] as const,
      ['workflowId', LIMITS.id, /workflowId must be a string of at most/] as const,
      ['runId', LIMITS.id, /runId must be a string of at most/] as const,
      ['namespace', LIMITS.id, /namespace must be a string of at most/] as const,
    );
    fc.assert(
      fc.property(gateArb, signatureArb, fieldOver, fc.integer({ min: 1, max: 5000 }), (gate, signature, [field, limit, why], extra) => {
        const decision = validFor(gate)[0]!;
        const d = { ...goodSigned(gate, signature, decision), [field]: 'z'.repeat(limit + extra) };
        assert.match(refusal(gate, d as unknown as DecisionInput, decision, SIGNED) ?? '(passed)', why);
      }),
      { numRuns: 1000 },
    );
  });
});
