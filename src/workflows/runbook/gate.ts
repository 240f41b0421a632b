// Deciding whether a decision applies to the open gate. Pure, so the update validator (which must be
// synchronous) and the signal handlers apply exactly the same rules.
import type { DecideInput } from './messages';
import type { OpenGate } from './types';

const VALID_FOR: Record<OpenGate['kind'], DecideInput['decision'][]> = {
  approval: ['approve', 'reject'],
  manual: ['done', 'abort', 'approve', 'reject'],
};

/** Returns why the decision cannot apply, or undefined when it can. */
export function refusal(gate: OpenGate | undefined, input: DecideInput, approvers: readonly string[] | undefined): string | undefined {
  if (typeof input !== 'object' || input === null) return 'a decision must be an object { step, by, decision }';
  if (typeof input.step !== 'string' || input.step === '') return 'a decision must name the step';
  if (typeof input.by !== 'string' || input.by.trim() === '') return 'a decision must say who decides ("by")';
  if (input.comment !== undefined && typeof input.comment !== 'string') return 'comment must be a string';
  if (!gate) return `no gate is open (step "${input.step}" is not waiting for a decision)`;
  if (input.step !== gate.step) return `step "${input.step}" is not the open gate; the run waits on "${gate.step}"`;
  if (!VALID_FOR[gate.kind].includes(input.decision)) {
    return `"${input.decision}" does not apply to ${gate.kind} step "${gate.step}" (use ${VALID_FOR[gate.kind].join(' or ')})`;
  }
  if (approvers && !approvers.includes(input.by)) {
    return `"${input.by}" is not on the approvers list (${approvers.join(', ')})`;
  }
  return undefined;
}

/** approve/done go on; reject/abort end the run. */
export function isGoAhead(decision: DecideInput['decision']): boolean {
  return decision === 'approve' || decision === 'done';
}
