// Deciding whether a decision applies to the open gate, and when a gate has enough approvals. Pure,
// so the update validator (which must be synchronous) and the signal handlers apply the same rules.
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
  if (input.digest !== undefined && typeof input.digest !== 'string') return 'digest must be a string';
  if (!gate) return `no gate is open (step "${input.step}" is not waiting for a decision)`;
  if (input.step !== gate.step) return `step "${input.step}" is not the open gate; the run waits on "${gate.step}"`;
  if (!VALID_FOR[gate.kind].includes(input.decision)) {
    return `"${input.decision}" does not apply to ${gate.kind} step "${gate.step}" (use ${VALID_FOR[gate.kind].join(' or ')})`;
  }
  if (approvers && !approvers.includes(input.by)) {
    return `"${input.by}" is not on the approvers list (${approvers.join(', ')})`;
  }
  if (input.digest !== undefined && gate.digest !== undefined && input.digest !== gate.digest) {
    return `plan digest ${input.digest} is stale: the plan of "${gate.step}" is now ${gate.digest}; review it and decide again`;
  }
  if (isGoAhead(input.decision) && gate.approvedBy.includes(input.by)) {
    return `${input.by} already approved "${gate.step}"; it needs another, distinct approver`;
  }
  return undefined;
}

/** approve/done go on; reject/abort end the run. */
export function isGoAhead(decision: DecideInput['decision']): boolean {
  return decision === 'approve' || decision === 'done';
}

/**
 * How many more approvals a gate needs: `required` distinct approvers, and for a point of no return
 * at least one who is not the run's starter.
 */
export function approvalsNeeded(approvedBy: readonly string[], required: number, irreversible: boolean, requestedBy?: string): number {
  const distinct = new Set(approvedBy);
  let missing = Math.max(0, required - distinct.size);
  if (irreversible && requestedBy && missing === 0 && [...distinct].every((by) => by === requestedBy)) missing = 1;
  return missing;
}

/** "90s", "15m", "2h", "7d" → milliseconds; undefined for a malformed value. */
export function durationMs(text: string): number | undefined {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
