// The markdown the Temporal UI shows as the run's current details: the step list and, for an open
// gate, what to do and the exact JSON to paste into the Send Signal form.
import { GO_ON, STOP, decisionText, fieldsFor, signCommand, type DecisionKind, type RunIds } from './decision';
import type { RunbookStatus, StepState } from './types';

const MARK: Record<StepState, string> = {
  pending: '[ ]',
  running: '[>]',
  waiting: '[?]',
  done: '[x]',
  skipped: '[-]',
  planned: '[p]',
  failed: '[!]',
  rejected: '[r]',
};

export function renderDetails(status: RunbookStatus): string {
  const lines = [`**${status.runbook}** on \`${status.target}\`${status.dryRun ? ' (dry run)' : ''}: ${status.state}`, ''];
  for (const step of status.steps) {
    lines.push(`- ${MARK[step.state]} \`${step.id}\` ${step.title} (${step.kind}): ${step.state}`);
  }
  for (const [step, p] of Object.entries(status.phases ?? {})) {
    if (p.state !== 'running' && p.state !== 'waiting') continue;
    lines.push('', `Phase \`${step}\` runs as workflow \`${p.workflowId}\`: ${p.state}${p.currentStep ? ` at \`${p.currentStep}\`` : ''}.`);
    if (p.openGate) {
      lines.push(`It waits on \`${p.openGate.step}\` (${p.openGate.kind}): ${p.openGate.instructions}`, `Decide on that workflow (its page shows the plan).`);
    }
    if (p.timer) lines.push(`Its next timer fires at ${p.timer.firesAt}: ${p.timer.purpose}.`);
  }
  if (status.timer) {
    lines.push('', `Sleeping on a durable timer in \`${status.timer.step}\` until ${status.timer.firesAt}: ${status.timer.purpose}.`);
  }
  const gate = status.openGate;
  if (gate) {
    const go = GO_ON[gate.kind];
    const stop = STOP[gate.kind];
    const step = status.steps.find((s) => s.id === gate.step);
    lines.push('', `### Waiting on \`${gate.step}\` (${gate.kind})`, '', gate.instructions);
    if (gate.reopenedBecause) lines.push('', `Re-opened: ${gate.reopenedBecause}.`);
    if (gate.approvedBy.length) lines.push('', `Approved so far by ${gate.approvedBy.join(', ')}; ${gate.needs} more approval(s) needed.`);
    if (gate.deadline) lines.push('', `Deadline: ${gate.deadline} (then the run ends with nothing changed by this step).`);
    if (step?.plan) {
      lines.push('', `Plan \`${step.plan.digest}\` on ${step.plan.target}:`, '```', ...step.plan.commands.map(wrap), '```');
      const facts = Object.entries(step.plan.facts).map(([k, v]) => `${k}=${v}`);
      if (facts.length) lines.push(`Facts: ${facts.join(', ')}`);
    }
    if (status.identity === 'signatures' && status.run) {
      lines.push(...signedInstructions(status.run, gate, go, stop));
    } else {
      const input: Record<string, string | number> = { step: gate.step, by: '<your name>' };
      if (gate.digest) input.digest = gate.digest;
      lines.push(
        '',
        `To go on, send signal \`${go}\` with input:`,
        '```json',
        JSON.stringify(input),
        '```',
        `To stop, send signal \`${stop}\` with the same input.`,
      );
    }
  }
  if (status.run) lines.push('', `Incident report of this run: \`runbook report ${status.run.workflowId}\` (\`--html\` for one page).`);
  return lines.join('\n');
}

/** A signed decision, ready to paste into Send a Signal once its signature is filled in, and the command that signs it. */
function signedInstructions(run: RunIds, gate: NonNullable<RunbookStatus['openGate']>, go: DecisionKind, stop: DecisionKind): string[] {
  const view = { step: gate.step, kind: gate.kind, digest: gate.digest, approvedBy: gate.approvedBy, attempt: gate.attempt };
  const text = decisionText(fieldsFor(view, go, run));
  const attempt = gate.attempt !== undefined ? { attempt: gate.attempt } : {};
  const input = { step: gate.step, decision: go, workflowId: run.workflowId, runId: run.runId, namespace: run.namespace, digest: gate.digest ?? 'none', ...attempt, signature: '<paste the signature here>' };
  return [
    '',
    `To go on, sign the decision with your SSH key (its signature is the approval; the worker checks it against its allowed_signers):`,
    '```sh',
    `${signCommand(text)} | tr -d '\\n'`,
    '```',
    `then send signal \`${go}\` with this input, its \`signature\` replaced by what the command printed:`,
    '```json',
    JSON.stringify(input),
    '```',
    `To stop, do the same with \`${stop}\`: sign \`"decision":"${stop}"\` in the text above and send signal \`${stop}\`. Or use the CLI, which signs for you: \`runbook ${go} ${run.workflowId} ${gate.step}\`.`,
  ];
}

/** The UI clips long lines: break a long command before its options, as a shell continuation. */
function wrap(command: string): string {
  if (command.length <= 100) return command;
  return command.replace(/ (?=--?[a-z])/g, ' \\\n    ');
}
