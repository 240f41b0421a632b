// `runbook watch <id>`: live step progress until the run ends or waits for someone.
import type { Client } from '@temporalio/client';
import { statusQuery } from '../workflows/runbook/messages';
import type { RunbookStatus } from '../workflows/runbook/types';

const ENDED = new Set(['completed', 'rejected', 'aborted', 'expired', 'failed']);

/** A line for each step whose state or evidence changed since the last status it was given. */
export function stepChanges(): (status: RunbookStatus) => string[] {
  const seen = new Map<string, string>();
  return (status) => {
    const lines: string[] = [];
    for (const step of status.steps) {
      const key = `${step.state}|${step.evidence.length}`;
      if (seen.get(step.id) !== key) {
        if (seen.has(step.id) || step.state !== 'pending') lines.push(`${step.id.padEnd(18)} ${step.state}${step.evidence.length ? `: ${step.evidence[step.evidence.length - 1]}` : ''}`);
        seen.set(step.id, key);
      }
    }
    return lines;
  };
}

/**
 * What `runbook plan` and `start --wait` show while the run goes: each step's line as it changes,
 * until `done` settles (the run's result). Never fails the command: progress is only a view.
 */
export async function progress(client: Client, id: string, done: Promise<unknown>, onLine: (line: string) => void, intervalMs = 300): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const changes = stepChanges();
  let settled = false;
  const finished = done.then(
    () => (settled = true),
    () => (settled = true),
  );
  const show = async () => {
    const status = await handle.query(statusQuery).catch(() => undefined); // the first workflow task may not have run
    if (status) for (const line of changes(status)) onLine(line);
  };
  while (!settled) {
    await show();
    await Promise.race([finished, new Promise((r) => setTimeout(r, intervalMs))]);
  }
  await show(); // the last steps, finished since the previous look
}

export async function watch(client: Client, id: string, onLine: (line: string, status: RunbookStatus) => void, intervalMs = 1_000): Promise<RunbookStatus> {
  const handle = client.workflow.getHandle(id);
  const changes = stepChanges();
  for (;;) {
    let status: RunbookStatus;
    try {
      status = await handle.query(statusQuery);
    } catch (err) {
      // a run that ended with a failure may be gone from the worker's cache: describe it instead
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') throw new Error(`run ${id} is ${d.status.name}`, { cause: err });
      throw err;
    }
    for (const line of changes(status)) onLine(line, status);
    if (ENDED.has(status.state)) {
      onLine(`run ${status.state}`, status);
      return status;
    }
    if (status.openGate) {
      onLine(`waiting on ${status.openGate.step} (${status.openGate.kind})${status.openGate.digest ? `, plan ${status.openGate.digest}` : ''}`, status);
      return status;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
