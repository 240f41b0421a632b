// A decision as a test sends it, the way an approver would: signed with the lab key of `by` when the
// lab's inventory signs (approvals.identity: signatures), by name otherwise. The plan digest is the
// open gate's when the test does not name one (an approver signs the plan they see).
import type { WorkflowHandle } from '@temporalio/client';
import type { Lab } from '../../lab/src/index';
import type { DecisionKind } from '../../src/workflows/runbook/decision';
import { abortSignal, retrySignal, approveSignal, decideUpdate, doneSignal, rejectSignal, statusQuery, type DecideInput } from '../../src/workflows/runbook/messages';
import type { Decision } from '../../src/workflows/runbook/types';
import { signedDecision } from './sign';

export interface TestDecision {
  step: string;
  /** An approver of the lab: alice, bob or carol (their key signs). */
  by: string;
  digest?: string;
  comment?: string;
}

const SIGNALS = { approve: approveSignal, reject: rejectSignal, done: doneSignal, abort: abortSignal, retry: retrySignal };

/** The input a client sends for this decision. */
export async function decisionInput(lab: Lab, h: WorkflowHandle, decision: DecisionKind, d: TestDecision): Promise<DecideInput> {
  if (lab.identity === 'names') return { ...d, decision };
  const gate = (await h.query(statusQuery)).openGate;
  const digest = d.digest ?? gate?.digest ?? 'none';
  const signed = await signedDecision(h, { step: d.step, decision, digest, attempt: gate?.attempt, key: lab.approverKey(d.by) });
  return { ...signed, comment: d.comment };
}

/** The UI's way: a signal (refused ones are only recorded under `ignored`). */
export async function send(lab: Lab, h: WorkflowHandle, decision: DecisionKind, d: TestDecision): Promise<void> {
  await h.signal(SIGNALS[decision], await decisionInput(lab, h, decision, d));
}

/** The CLI's way: the `decide` update, refused at once when it cannot apply. */
export async function decide(lab: Lab, h: WorkflowHandle, decision: DecisionKind, d: TestDecision): Promise<Decision> {
  return h.executeUpdate(decideUpdate, { args: [await decisionInput(lab, h, decision, d)] });
}
