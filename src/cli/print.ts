// Human-readable rendering of a run's status for the terminal.
import type { RunbookStatus } from '../workflows/runbook/types';

export function printStatus(s: RunbookStatus): string {
  const lines = [`${s.runbook} on ${s.target}${s.dryRun ? ' (dry run)' : ''}: ${s.state}`];
  for (const step of s.steps) {
    lines.push(`  ${step.state.padEnd(8)} ${step.id.padEnd(18)} ${step.title}`);
    for (const e of step.evidence.slice(-6)) lines.push(`             ${e}`);
    if (step.decision) lines.push(`             ${step.decision.decision} by ${step.decision.by} at ${step.decision.at} (${step.decision.via})`);
    if (step.error) lines.push(`             error: ${step.error}`);
  }
  if (s.openGate) {
    const step = s.steps.find((x) => x.id === s.openGate!.step);
    lines.push('', `waiting on ${s.openGate.step} (${s.openGate.kind}) since ${s.openGate.since}`, `  ${s.openGate.instructions}`);
    if (step?.plan) lines.push(`  plan on ${step.plan.target}:`, ...step.plan.commands.map((c) => `    ${c}`));
    const go = s.openGate.kind === 'approval' ? 'approve' : 'done';
    lines.push(`  runbook ${go} <workflowId> --step ${s.openGate.step} --by <you>`);
  }
  return lines.join('\n');
}
