// The worker verifies, not the workflow: a change activity takes `{ args, authorization }`, where
// `args` is what its preflight takes. Before any change command it checks the authorization against
// the run Temporal says is asking (namespace, workflow ID, run ID), re-runs the preflight itself, and
// requires the plan it renders to be the approved one; then the change runs with the facts of that
// preflight, never with facts from its caller.
import { Context } from '@temporalio/activity';
import type { Authorization } from '../../workflows/runbook/decision';
import type { Planned } from '../../workflows/runbook/types';
import type { ActivityDeps } from '../deps';
import { authorizeApproval, checkFreshPlan, notAuthorized, type ApprovalSettings, type RunIdentity } from './authorize';
import type { ChangeStep } from './change-steps';

/** The input of every change activity. */
export interface ChangeInput<A> {
  /** Exactly what the step's preflight (planX) activity takes. */
  args: A;
  authorization: Authorization;
}

/** The inventory's approvals, read at each call. */
export function approvalSettings(deps: ActivityDeps): ApprovalSettings {
  const inv = deps.inventory;
  return {
    identity: inv.approvals.identity,
    allowedSigners: inv.approvals.allowedSigners,
    approvers: inv.approvers,
    twoPersonIrreversible: inv.approvals.twoPersonIrreversible,
  };
}

/** The run asking, from the activity's own context. */
export function currentRun(what: string): RunIdentity {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    throw notAuthorized(`${what}: not called as an activity of a workflow run`);
  }
  const wf = info.workflowExecution;
  if (!wf?.workflowId || !wf.runId || !info.workflowNamespace) throw notAuthorized(`${what}: not called from a workflow run`);
  return { namespace: info.workflowNamespace, workflowId: wf.workflowId, runId: wf.runId, attempt: info.attempt };
}

export function guardFor(deps: ActivityDeps) {
  /** `change` behind the worker's own check, as an activity taking `{ args, authorization }`. */
  return function guarded<A, F, R>(plan: (args: A) => Promise<Planned<F>>, change: (facts: F) => Promise<R>, step: ChangeStep) {
    return async (input: ChangeInput<A>): Promise<R> => {
      const run = currentRun(step.step);
      const what = `${step.step} of ${run.workflowId}`;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw notAuthorized(`${what}: the input must be { args, authorization }`);
      const args = input.args ?? ({} as A);
      if (typeof args !== 'object' || args === null || Array.isArray(args)) throw notAuthorized(`${what}: args must be the preflight's input object`);
      if ((args as { dryRun?: unknown }).dryRun !== undefined && (args as { dryRun?: unknown }).dryRun !== false) {
        throw notAuthorized(`${what}: a dry run changes nothing, and a change never runs with dryRun`);
      }
      const approval = await authorizeApproval(run, step, input.authorization, approvalSettings(deps));
      const fresh = await plan(args);
      const seen = checkFreshPlan(run, step, approval.plan, fresh.plan);
      const result = await change(fresh.facts);
      return withEvidence(result, `worker check: ${approval.by}; ${seen}`);
    };
  };
}

/** The worker's check, first in the step's evidence (results without evidence are returned as they are). */
function withEvidence<R>(result: R, line: string): R {
  const r = result as { evidence?: unknown };
  if (typeof r === 'object' && r !== null && Array.isArray(r.evidence)) return { ...r, evidence: [line, ...(r.evidence as string[])] } as R;
  return result;
}
