// Human-readable rendering of a run's status for the terminal.
import type { ActivityProgress } from './heartbeats';
import { GO_ON, STOP } from '../workflows/runbook/decision';
import type { RunbookResult, RunbookStatus } from '../workflows/runbook/types';

/** How to decide a gate from the CLI: signed with a key, or by name in a names-mode inventory. */
function decideHint(s: RunbookStatus, verb: string, id: string, step: string): string {
  return `runbook ${verb} ${id} --step ${step} ${s.identity === 'signatures' ? '[--key <your key>]' : '--by <you>'}`;
}

export function printStatus(s: RunbookStatus, progress: ActivityProgress[] = []): string {
  const lines = [`${s.runbook} on ${s.target}${s.dryRun ? ' (dry run)' : ''}: ${s.state}${s.startedBy ? `, started by ${s.startedBy}` : ''}`];
  for (const step of s.steps) {
    lines.push(`  ${step.state.padEnd(8)} ${step.id.padEnd(18)} ${step.title}`);
    for (const e of step.evidence.slice(-6)) lines.push(`             ${e}`);
    if (step.decision) lines.push(`             ${step.decision.decision} by ${step.decision.by}${step.decision.key ? ` (${step.decision.key})` : ''} at ${step.decision.at} (${step.decision.via})`);
    if (step.error) lines.push(`             error: ${step.error}`);
    for (const f of (step.failures ?? []).filter((x) => x.decision)) lines.push(`             failed (attempt ${f.attempt}): ${f.error}; ${f.decision!.decision} by ${f.decision!.by}`);
  }
  for (const [id, p] of Object.entries(s.phases ?? {})) {
    const at = p.openGate ? `waits on ${p.openGate.step} (${p.openGate.kind})` : p.currentStep ? `at ${p.currentStep}` : '';
    lines.push(`  phase ${id}: ${p.workflowId} ${p.state} ${at}; done: ${p.done.join(', ') || 'nothing yet'}`);
    if (p.openGate) lines.push(`    ${p.openGate.instructions}`, `    ${decideHint(s, GO_ON[p.openGate.kind], p.workflowId, p.openGate.step)}`);
    if (p.timer) lines.push(`    next timer fires at ${p.timer.firesAt}: ${p.timer.purpose}`);
  }
  for (const p of progress) lines.push(`  in flight: ${p.activity} (attempt ${p.attempt}): ${p.details}`);
  if (s.timer) lines.push(`  next timer: ${s.timer.step} fires at ${s.timer.firesAt}: ${s.timer.purpose}`);
  if (s.openGate) {
    const step = s.steps.find((x) => x.id === s.openGate!.step);
    const g = s.openGate;
    lines.push('', `waiting on ${g.step} (${g.kind}) since ${g.since}`, `  ${g.instructions}`);
    if (g.reopenedBecause) lines.push(`  re-opened: ${g.reopenedBecause}`);
    if (g.approvedBy.length) lines.push(`  approved so far by ${g.approvedBy.join(', ')}; needs ${g.needs} more`);
    if (g.deadline) lines.push(`  deadline ${g.deadline}`);
    if (step?.plan) lines.push(`  plan ${step.plan.digest} on ${step.plan.target}:`, ...step.plan.commands.map((c) => `    ${c}`));
    const id = s.run?.workflowId ?? '<workflowId>';
    lines.push(`  ${decideHint(s, GO_ON[g.kind], id, g.step)}`);
    if (g.kind === 'failed') lines.push(`  ${decideHint(s, STOP[g.kind], id, g.step)}`);
  }
  return lines.join('\n');
}

/** A dry run's result as the ordered plan an operator reads before the real run. */
export function printPlan(r: RunbookResult): string {
  const lines = [`${r.outcome}: ${r.summary}`, ''];
  (r.plan ?? []).forEach((p, i) => {
    lines.push(`${i + 1}. ${p.step}: ${p.title}`, `   on ${p.target}, plan ${p.digest}`, ...p.commands.map((c) => `     ${c}`), '');
  });
  const checks = r.steps.filter((s) => s.kind === 'check' && s.state === 'done');
  lines.push(`checks passed: ${checks.map((s) => s.id).join(', ')}`);
  return lines.join('\n');
}
