// approve / reject / done / abort: show the plan and its digest, then send the decision through the
// `decide` update naming that digest, so a plan that changed meanwhile is refused, not approved.
// With signed approvals (the run's status says identity "signatures") the decision is signed with the
// operator's key over decisionText(): this namespace, workflow ID and run ID, the step, the decision
// and the gate's full digest; the worker verifies it. With names (a single trusted operator) it
// carries --by instead.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decisionText, type DecisionKind } from '../workflows/runbook/decision';
import { decideUpdate, statusQuery, type DecideInput } from '../workflows/runbook/messages';
import type { RunbookStatus } from '../workflows/runbook/types';
import { CliError, EXIT, failureReason, output, withClient } from './context';
import { requireSigningKey } from './signing';

export interface DecideRequest {
  step: string;
  decision: DecisionKind;
  /** Names mode: who decides. */
  by: string;
  comment?: string;
  /** The digest the operator reviewed (a prefix of the gate's is enough); default the open gate's. */
  digest?: string;
  /** Signatures mode: the key to sign with (default: ssh-agent's first key). */
  key?: string;
}

/** The full digest to name: the gate's when the reviewed one is (a prefix of) it, else what was given. */
function digestFor(status: RunbookStatus, req: DecideRequest): string | undefined {
  const gate = status.openGate?.step === req.step ? status.openGate : undefined;
  if (req.digest === undefined) return gate?.digest;
  return gate?.digest && req.digest.length >= 12 && gate.digest.startsWith(req.digest) ? gate.digest : req.digest;
}

export async function decide(id: string, req: DecideRequest, json: boolean): Promise<void> {
  await withClient(async (client, _connection, namespace) => {
    let handle = client.workflow.getHandle(id);
    let status = await handle.query(statusQuery);
    // A program's gates live on its phases: decide on the phase whose gate is that step.
    const phase = Object.values(status.phases ?? {}).find((p) => p.openGate?.step === req.step);
    if (status.openGate?.step !== req.step && phase) {
      if (!json) console.log(`${req.step} waits on phase ${phase.workflowId}: deciding there`);
      handle = client.workflow.getHandle(phase.workflowId);
      status = await handle.query(statusQuery);
    }
    const gate = status.openGate;
    const step = status.steps.find((s) => s.id === req.step);
    const digest = digestFor(status, req);
    if (!json && step?.plan && gate?.step === req.step) {
      console.log(`Plan ${step.plan.digest} of ${step.id} on ${step.plan.target}:`);
      for (const c of step.plan.commands) console.log(`  ${c}`);
      console.log(`Facts: ${Object.entries(step.plan.facts).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    }
    let input: DecideInput;
    if (status.identity === 'signatures') {
      const key = requireSigningKey(req.key);
      try {
        // the run ID from the server, not from the run's own answer: the signature is for this run
        const { runId } = await handle.describe();
        // after a retry the gate's attempt is signed too: a signature from an earlier attempt never counts again
        const attempt = gate?.step === req.step && gate.attempt !== undefined ? { attempt: gate.attempt } : {};
        const fields = { namespace, workflowId: handle.workflowId, runId, step: req.step, decision: req.decision, digest: digest ?? 'none', ...attempt };
        if (!json) console.log(`Signing "${req.decision}" of ${req.step} (plan ${fields.digest}) for run ${runId} with ${key.source}`);
        const signature = await key.sign(decisionText(fields));
        input = { ...fields, signature, ...(req.comment !== undefined ? { comment: req.comment } : {}) };
      } finally {
        key.dispose();
      }
    } else {
      input = { step: req.step, decision: req.decision, by: req.by, comment: req.comment, digest };
    }
    try {
      const decision = await handle.executeUpdate(decideUpdate, { args: [input] });
      const who = `${decision.by}${decision.key ? ` (${decision.key})` : ''}`;
      output(json, decision, `${decision.decision}: ${decision.step} by ${who}${decision.digest ? ` (plan ${decision.digest})` : ''} at ${decision.at}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${failureReason(err)}`, EXIT.refused);
      throw err;
    }
  });
}
