// `runbook watch <id>`: live step progress until the run ends or waits for someone.
import type { Client } from '@temporalio/client';
import { statusQuery } from '../workflows/runbook/messages';
import type { RunbookStatus } from '../workflows/runbook/types';

const ENDED = new Set(['completed', 'rejected', 'aborted', 'expired', 'failed']);

export async function watch(client: Client, id: string, onLine: (line: string, status: RunbookStatus) => void, intervalMs = 1_000): Promise<RunbookStatus> {
  const handle = client.workflow.getHandle(id);
  const seen = new Map<string, string>();
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
    for (const step of status.steps) {
      const key = `${step.state}|${step.evidence.length}`;
      if (seen.get(step.id) !== key) {
        if (seen.has(step.id) || step.state !== 'pending') onLine(`${step.id.padEnd(18)} ${step.state}${step.evidence.length ? `: ${step.evidence[step.evidence.length - 1]}` : ''}`, status);
        seen.set(step.id, key);
      }
    }
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
