// approve / reject / done / abort: show the plan and its digest, then send the decision through the
// `decide` update naming that digest, so a plan that changed meanwhile is refused, not approved.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decideUpdate, statusQuery, type DecideInput } from '../workflows/runbook/messages';
import { CliError, EXIT, output, withClient } from './context';

export async function decide(id: string, input: Omit<DecideInput, 'digest'> & { digest?: string }, json: boolean): Promise<void> {
  await withClient(async (client) => {
    let handle = client.workflow.getHandle(id);
    let status = await handle.query(statusQuery);
    // A program's gates live on its phases: decide on the phase whose gate is that step.
    const phase = Object.values(status.phases ?? {}).find((p) => p.openGate?.step === input.step);
    if (status.openGate?.step !== input.step && phase) {
      if (!json) console.log(`${input.step} waits on phase ${phase.workflowId}: deciding there`);
      handle = client.workflow.getHandle(phase.workflowId);
      status = await handle.query(statusQuery);
    }
    const gate = status.openGate;
    const step = status.steps.find((s) => s.id === input.step);
    const digest = input.digest ?? (gate?.step === input.step ? gate.digest : undefined);
    if (!json && step?.plan && gate?.step === input.step) {
      console.log(`Plan ${step.plan.digest} of ${step.id} on ${step.plan.target}:`);
      for (const c of step.plan.commands) console.log(`  ${c}`);
      console.log(`Facts: ${Object.entries(step.plan.facts).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    }
    try {
      const decision = await handle.executeUpdate(decideUpdate, { args: [{ ...input, digest }] });
      output(json, decision, `${decision.decision}: ${decision.step} by ${decision.by}${decision.digest ? ` (plan ${decision.digest})` : ''} at ${decision.at}`);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CliError(`refused: ${err.cause?.message ?? err.message}`, EXIT.refused);
      }
      throw err;
    }
  });
}
