// The incident report as Markdown: one section per question an operator asks after a run (what was
// asked, what the checks found, what ran when, who approved what with which key, what failed and how
// it was resolved), a program's phases nested in order.
import { formatDuration, time, type ChangeRow, type DecisionRow, type Report } from './model';

export function renderMarkdown(r: Report, opts: { command?: string } = {}): string {
  const out: string[] = [];
  section(out, r, 1, opts.command);
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function section(out: string[], r: Report, level: number, command?: string): void {
  const h = (n: number, text: string) => out.push('', `${'#'.repeat(Math.min(6, level + n))} ${text}`, '');
  out.push(`${'#'.repeat(level)} ${level === 1 ? 'Incident report: ' : ''}${r.runbook} on \`${r.target}\`${r.dryRun ? ' (dry run)' : ''}`, '');
  if (command) out.push(`Written by \`${command}\` from the run's own history${r.sources.some((s) => s.startsWith('its status')) ? ' and status' : ''}.`, '');
  out.push(
    table(
      ['', ''],
      [
        ['Outcome', `**${r.state}**${r.summary ? `: ${r.summary}` : ''}`],
        ['Workflow', `\`${r.workflowId}\` (${r.workflowType}), run \`${r.runId}\``],
        ['Started', time(r.startedAt)],
        ['Ended', r.endedAt ? `${time(r.endedAt)} (${formatDuration(r.durationMs ?? 0)})` : 'still running'],
      ],
    ),
  );

  h(1, 'What was asked, and by whom');
  out.push(
    `- Runbook \`${r.runbook}\` on \`${r.target}\``,
    `- Requested by: ${r.asked.requestedBy ?? '(not given)'} (the input's \`requestedBy\`, as typed)`,
    `- Started by: ${r.asked.startedBy ? `${r.asked.startedBy}, the signed start the worker verified` : 'no signed start'}`,
  );
  if (r.asked.clientIdentity) out.push(`- Client identity Temporal recorded: \`${r.asked.clientIdentity}\` (set by the client, not verified)`);
  if (r.asked.identity) out.push(`- Decisions identified by: ${r.asked.identity === 'signatures' ? 'SSH signatures verified by the worker' : 'names (approvals.identity: names)'}`);
  out.push('- Input (secrets left out):', '', fence(JSON.stringify(r.asked.input, null, 2), 'json'));

  if (r.checks.length) {
    h(1, 'The cluster as the checks found it');
    for (const c of r.checks) {
      h(2, `\`${c.step}\` ${c.title}: ${c.state}`);
      out.push(c.evidence.length ? fence(c.evidence.join('\n')) : '(no evidence recorded)');
    }
  }

  h(1, 'Timeline');
  out.push(
    table(
      ['Step', 'Kind', 'State', 'Start', 'End', 'Duration', 'Notes'],
      r.timeline.map((t) => [`\`${t.step}\` ${t.title}`, t.kind, t.state, t.start ? time(t.start) : '', t.end ? time(t.end) : '', t.durationMs !== undefined ? formatDuration(t.durationMs) : '', t.notes.join('<br>')]),
    ),
  );

  if (r.openGate || r.timer) {
    h(1, 'Now');
    if (r.openGate) {
      const g = r.openGate;
      out.push(`Waiting on \`${g.step}\` (${g.kind}) since ${time(g.since)}: ${g.instructions}`);
      if (g.reopenedBecause) out.push('', `Re-opened: ${g.reopenedBecause}.`);
      if (g.approvedBy.length) out.push('', `Approved so far by ${g.approvedBy.join(', ')}; ${g.needs} more needed.`);
      if (g.deadline) out.push('', `Deadline: ${time(g.deadline)}.`);
    }
    if (r.timer) out.push('', `Sleeping in \`${r.timer.step}\` until ${time(r.timer.firesAt)}: ${r.timer.purpose}.`);
  }

  if (r.changes.length) {
    h(1, 'Changes');
    for (const c of r.changes) change(out, c, level + 2);
  }

  if (r.manual.length) {
    h(1, 'Manual steps');
    for (const m of r.manual) {
      h(2, `\`${m.step}\` ${m.title}: ${m.state}`);
      if (m.evidence.length) out.push(fence(m.evidence.join('\n')));
      if (m.decision) out.push('', decisionLine(m.decision));
    }
  }

  for (const s of r.soaks) {
    h(1, `Soak \`${s.step}\`: ${s.state}`);
    out.push(s.title, '');
    out.push(table(['Check', 'At', 'Healthy', 'What it found'], s.checks.map((c) => [String(c.n), time(c.at), c.healthy ? 'yes' : '**no**', c.detail])));
    if (s.notes.length) out.push('', ...s.notes.map((n) => `- ${n}`));
  }

  h(1, 'Decisions');
  out.push(r.decisions.length ? decisionTable(r.decisions) : r.phases.length ? "None at the program itself: each phase's decisions are in its section below." : 'No decision was taken.');

  h(1, 'Refused decisions');
  if (r.refused.length) {
    out.push(
      `${r.refusedCount} refused in all${r.refusedCount > r.refused.length ? ` (the newest ${r.refused.length} shown)` : ''}; none of them was applied.`,
      '',
      table(['At', 'Step', 'Decision', 'By', 'Via', 'Why refused'], r.refused.map((d) => [time(d.at), `\`${d.step}\``, d.decision, d.by, d.via ?? '', d.reason])),
    );
  } else {
    out.push('None.');
  }

  h(1, 'Failures and how each was resolved');
  out.push(r.failures.length ? table(['At', 'Step', 'What failed', 'Resolution'], r.failures.map((f) => [f.at ? time(f.at) : '', f.step ? `\`${f.step}\`` : '', f.what, f.resolution])) : 'None.');

  if (r.phases.length) {
    h(1, 'Phases');
    r.phases.forEach((p, i) => {
      h(2, `${i + 1}. \`${p.step}\` ${p.title}: ${p.state}${p.workflowId ? ` (workflow \`${p.workflowId}\`)` : ''}`);
      if (p.report) section(out, p.report, Math.min(6, level + 3));
      else out.push(p.state === 'skipped' ? 'Skipped.' : 'Not started.');
    });
  }

  if (r.activities.length) {
    h(1, 'Activities (from the history)');
    out.push(
      table(
        ['Activity', 'Scheduled', 'Closed', 'Took', 'Attempt', 'Outcome'],
        r.activities.map((a) => [a.local ? `${a.type} (local)` : a.type, time(a.scheduledAt), a.closedAt ? time(a.closedAt) : '', a.closedAt ? formatDuration(Date.parse(a.closedAt) - Date.parse(a.scheduledAt)) : '', String(a.attempt ?? ''), a.failure ? `${a.outcome}: ${a.failure}` : a.outcome]),
      ),
    );
  }

  h(1, 'Sources');
  out.push(...r.sources.map((s) => `- ${s}`));
}

function change(out: string[], c: ChangeRow, level: number): void {
  const head = '#'.repeat(Math.min(6, level));
  const flags = [c.irreversible ? 'point of no return' : '', c.noGate ? `no gate: ${c.noGate}` : ''].filter(Boolean);
  out.push('', `${head} \`${c.step}\` ${c.title}: ${c.state}${flags.length ? ` (${flags.join('; ')})` : ''}`, '');
  if (c.plan) {
    out.push(`Plan on \`${c.plan.target}\`, digest \`${c.plan.digest}\`:`, '', fence(c.plan.commands.join('\n'), 'sh'));
    const facts = Object.entries(c.plan.facts);
    if (facts.length) out.push('', table(['Fact', 'Value'], facts.map(([k, v]) => [k, `\`${v}\``])));
  } else {
    out.push('No plan was rendered.');
  }
  out.push('');
  out.push(c.decisions.length ? decisionTable(c.decisions) : 'No decision was taken at its gate.');
  for (const g of c.gates) out.push('', `Gate open ${time(g.openedAt)}${g.closedAt ? `, closed ${time(g.closedAt)} (waited ${formatDuration(g.waitedMs ?? 0)})` : ', still open'}.`);
  if (c.reopened.length) out.push('', 'The gate re-opened:', '', ...c.reopened.map((x) => `- ${x}`));
  if (c.output.length) out.push('', 'What ran and what it printed:', '', fence(c.output.join('\n')));
  if (c.error) out.push('', `Error: ${c.error}`);
}

function decisionTable(ds: DecisionRow[]): string {
  return table(
    ['At', 'Step', 'Decision', 'By', 'Key fingerprint', 'Via', 'Digest', 'Comment'],
    ds.map((d) => [time(d.at), `\`${d.step}\``, d.decision, d.by, d.key ? `\`${d.key}\`` : '', d.via ?? '', d.digest ? `\`${d.digest}\`` : '', d.comment ?? '']),
  );
}

function decisionLine(d: DecisionRow): string {
  return `${d.decision} by ${d.by}${d.key ? ` (key \`${d.key}\`)` : ''} at ${time(d.at)}${d.via ? ` by ${d.via}` : ''}${d.comment ? `: ${d.comment}` : ''}`;
}

function table(head: string[], rows: string[][]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A fenced block whose fence is longer than any run of backticks inside it. */
function fence(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${text}\n${f}`;
}
