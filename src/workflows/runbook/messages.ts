// Signals, updates and queries every runbook answers. Workflow-safe: the client imports these too.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionInput } from './decision';
import type { Decision, PhaseReport, RunbookStatus } from './types';

/**
 * What the Temporal UI's Send Signal form sends. Signed (the default): `{"step", "digest",
 * "workflowId", "runId", "namespace", "signature"}`, the gate details give it ready to paste; with
 * `approvals.identity: names`: `{"step", "by", "digest"}`.
 */
export type ApprovalInput = DecisionInput;

/** What the CLI sends: one update for every decision, refused at once when it cannot apply. */
export interface DecideInput extends DecisionInput {
  decision: Decision['decision'];
}

export const approveSignal = defineSignal<[ApprovalInput]>('approve');
export const rejectSignal = defineSignal<[ApprovalInput]>('reject');
/** A manual step (e.g. "enable VT-d in the BIOS") is finished. */
export const doneSignal = defineSignal<[ApprovalInput]>('done');
/** Give up at a manual step: the run ends with nothing changed by that step. */
export const abortSignal = defineSignal<[ApprovalInput]>('abort');
/** A failed step: run it again (its checks and preflight first; a change needs a fresh approval). */
export const retrySignal = defineSignal<[ApprovalInput]>('retry');
export const decideUpdate = defineUpdate<Decision, [DecideInput]>('decide');
export const statusQuery = defineQuery<RunbookStatus>('status');
/** A phase (child runbook) tells its program where it is, each time that changes. */
export const phaseReportSignal = defineSignal<[PhaseReport]>('phaseReport');
