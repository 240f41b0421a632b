// The incident report as one self-contained HTML page (inline CSS, no script, nothing fetched): the
// same sections as the Markdown, laid out from the same model, every value escaped.
import { formatDuration, time, type ChangeRow, type DecisionRow, type Report } from './model';

const CSS = `body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1f23}
h1,h2,h3,h4,h5,h6{line-height:1.2;margin:1.6em 0 .5em}code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.bad{color:#b42318;font-weight:600}.ok{color:#1a7f37}section.phase{border-left:4px solid #d0d7de;padding-left:1rem}`;

export function renderHtml(r: Report, opts: { command?: string } = {}): string {
  const title = `Incident report: ${r.runbook} on ${r.target}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
${body(r, 1, opts.command)}
</body></html>
`;
}

function body(r: Report, level: number, command?: string): string {
  const h = (n: number, html: string) => `<h${Math.min(6, level + n)}>${html}</h${Math.min(6, level + n)}>`;
  const parts: string[] = [];
  parts.push(h(0, `${level === 1 ? 'Incident report: ' : ''}${esc(r.runbook)} on <code>${esc(r.target)}</code>${r.dryRun ? ' (dry run)' : ''}`));
  if (command) parts.push(`<p>Written by <code>${esc(command)}</code> from the run's own history.</p>`);
  parts.push(
    table(
      ['', ''],
      [
        ['Outcome', `<strong class="${['completed', 'dry-run'].includes(r.state) ? 'ok' : 'bad'}">${esc(r.state)}</strong>${r.summary ? `: ${esc(r.summary)}` : ''}`],
        ['Workflow', `<code>${esc(r.workflowId)}</code> (${esc(r.workflowType)}), run <code>${esc(r.runId)}</code>`],
        ['Started', esc(time(r.startedAt))],
        ['Ended', r.endedAt ? esc(`${time(r.endedAt)} (${formatDuration(r.durationMs ?? 0)})`) : 'still running'],
      ],
      true,
    ),
  );

  parts.push(h(1, 'What was asked, and by whom'));
  parts.push(
    '<ul>',
    `<li>Runbook <code>${esc(r.runbook)}</code> on <code>${esc(r.target)}</code></li>`,
    `<li>Requested by: ${esc(r.asked.requestedBy ?? '(not given)')} (the input's <code>requestedBy</code>, as typed)</li>`,
    `<li>Started by: ${r.asked.startedBy ? `${esc(r.asked.startedBy)}, the signed start the worker verified` : 'no signed start'}</li>`,
    r.asked.clientIdentity ? `<li>Client identity Temporal recorded: <code>${esc(r.asked.clientIdentity)}</code> (set by the client, not verified)</li>` : '',
    '</ul>',
    `<pre>${esc(JSON.stringify(r.asked.input, null, 2))}</pre>`,
  );

  if (r.checks.length) {
    parts.push(h(1, 'The cluster as the checks found it'));
    for (const c of r.checks) parts.push(h(2, `<code>${esc(c.step)}</code> ${esc(c.title)}: ${esc(c.state)}`), pre(c.evidence));
  }

  parts.push(h(1, 'Timeline'));
  parts.push(
    table(
      ['Step', 'Kind', 'State', 'Start', 'End', 'Duration', 'Notes'],
      r.timeline.map((t) => [
        `<code>${esc(t.step)}</code> ${esc(t.title)}`,
        esc(t.kind),
        esc(t.state),
        t.start ? esc(time(t.start)) : '',
        t.end ? esc(time(t.end)) : '',
        t.durationMs !== undefined ? esc(formatDuration(t.durationMs)) : '',
        t.notes.map(esc).join('<br>'),
      ]),
    ),
  );

  if (r.openGate) parts.push(h(1, 'Now'), `<p>Waiting on <code>${esc(r.openGate.step)}</code> (${esc(r.openGate.kind)}) since ${esc(time(r.openGate.since))}: ${esc(r.openGate.instructions)}</p>`);
  if (r.timer) parts.push(`<p>Sleeping in <code>${esc(r.timer.step)}</code> until ${esc(time(r.timer.firesAt))}: ${esc(r.timer.purpose)}.</p>`);

  if (r.changes.length) {
    parts.push(h(1, 'Changes'));
    for (const c of r.changes) parts.push(change(c, level + 2));
  }
  if (r.manual.length) {
    parts.push(h(1, 'Manual steps'));
    for (const m of r.manual) parts.push(h(2, `<code>${esc(m.step)}</code> ${esc(m.title)}: ${esc(m.state)}`), pre(m.evidence), m.decision ? decisions([m.decision]) : '');
  }
  for (const s of r.soaks) {
    parts.push(h(1, `Soak <code>${esc(s.step)}</code>: ${esc(s.state)}`), `<p>${esc(s.title)}</p>`);
    parts.push(table(['Check', 'At', 'Healthy', 'What it found'], s.checks.map((c) => [String(c.n), esc(time(c.at)), c.healthy ? '<span class="ok">yes</span>' : '<span class="bad">no</span>', esc(c.detail)])));
    if (s.notes.length) parts.push(`<ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }

  parts.push(h(1, 'Decisions'), r.decisions.length ? decisions(r.decisions) : '<p>No decision was taken.</p>');
  parts.push(h(1, 'Refused decisions'));
  parts.push(
    r.refused.length
      ? `<p>${r.refusedCount} refused in all; none of them was applied.</p>` +
          table(['At', 'Step', 'Decision', 'By', 'Via', 'Why refused'], r.refused.map((d) => [esc(time(d.at)), `<code>${esc(d.step)}</code>`, esc(d.decision), esc(d.by), esc(d.via ?? ''), esc(d.reason)]))
      : '<p>None.</p>',
  );
  parts.push(h(1, 'Failures and how each was resolved'));
  parts.push(
    r.failures.length
      ? table(['At', 'Step', 'What failed', 'Resolution'], r.failures.map((f) => [f.at ? esc(time(f.at)) : '', f.step ? `<code>${esc(f.step)}</code>` : '', esc(f.what), esc(f.resolution)]))
      : '<p>None.</p>',
  );

  if (r.phases.length) {
    parts.push(h(1, 'Phases'));
    r.phases.forEach((p, i) => {
      parts.push(h(2, `${i + 1}. <code>${esc(p.step)}</code> ${esc(p.title)}: ${esc(p.state)}${p.workflowId ? ` (workflow <code>${esc(p.workflowId)}</code>)` : ''}`));
      parts.push(p.report ? `<section class="phase">${body(p.report, Math.min(6, level + 3))}</section>` : `<p>${p.state === 'skipped' ? 'Skipped.' : 'Not started.'}</p>`);
    });
  }

  if (r.activities.length) {
    parts.push(h(1, 'Activities (from the history)'));
    parts.push(
      table(
        ['Activity', 'Scheduled', 'Closed', 'Took', 'Attempt', 'Outcome'],
        r.activities.map((a) => [esc(a.local ? `${a.type} (local)` : a.type), esc(time(a.scheduledAt)), a.closedAt ? esc(time(a.closedAt)) : '', a.closedAt ? esc(formatDuration(Date.parse(a.closedAt) - Date.parse(a.scheduledAt))) : '', String(a.attempt ?? ''), esc(a.failure ? `${a.outcome}: ${a.failure}` : a.outcome)]),
      ),
    );
  }
  parts.push(h(1, 'Sources'), `<ul>${r.sources.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>`);
  return parts.filter(Boolean).join('\n');
}

function change(c: ChangeRow, level: number): string {
  const tag = `h${Math.min(6, level)}`;
  const flags = [c.irreversible ? 'point of no return' : '', c.noGate ? `no gate: ${c.noGate}` : ''].filter(Boolean);
  const parts = [`<${tag}><code>${esc(c.step)}</code> ${esc(c.title)}: ${esc(c.state)}${flags.length ? ` (${esc(flags.join('; '))})` : ''}</${tag}>`];
  if (c.plan) {
    parts.push(`<p>Plan on <code>${esc(c.plan.target)}</code>, digest <code>${esc(c.plan.digest)}</code>:</p>`, pre(c.plan.commands));
    const facts = Object.entries(c.plan.facts);
    if (facts.length) parts.push(table(['Fact', 'Value'], facts.map(([k, v]) => [esc(k), `<code>${esc(String(v))}</code>`])));
  }
  parts.push(c.decisions.length ? decisions(c.decisions) : '<p>No decision was taken at its gate.</p>');
  for (const g of c.gates) parts.push(`<p>Gate open ${esc(time(g.openedAt))}${g.closedAt ? `, closed ${esc(time(g.closedAt))} (waited ${esc(formatDuration(g.waitedMs ?? 0))})` : ', still open'}.</p>`);
  if (c.reopened.length) parts.push('<p>The gate re-opened:</p>', `<ul>${c.reopened.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`);
  if (c.output.length) parts.push('<p>What ran and what it printed:</p>', pre(c.output));
  if (c.error) parts.push(`<p class="bad">Error: ${esc(c.error)}</p>`);
  return parts.join('\n');
}

function decisions(ds: DecisionRow[]): string {
  return table(
    ['At', 'Step', 'Decision', 'By', 'Key fingerprint', 'Via', 'Digest', 'Comment'],
    ds.map((d) => [esc(time(d.at)), `<code>${esc(d.step)}</code>`, esc(d.decision), esc(d.by), d.key ? `<code>${esc(d.key)}</code>` : '', esc(d.via ?? ''), d.digest ? `<code>${esc(d.digest)}</code>` : '', esc(d.comment ?? '')]),
  );
}

function pre(lines: string[]): string {
  return lines.length ? `<pre>${esc(lines.join('\n'))}</pre>` : '<p>(no evidence recorded)</p>';
}

/** Cells are HTML already (escaped by the caller). */
function table(head: string[], rows: string[][], noHead = false): string {
  const th = noHead ? '' : `<thead><tr>${head.map((x) => `<th>${esc(x)}</th>`).join('')}</tr></thead>`;
  return `<table>${th}<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
