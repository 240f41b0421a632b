// `runbook pending`: every run waiting for a decision, from one visibility query on the search
// attribute the kit sets while a gate is open.
import type { Client } from '@temporalio/client';
import { statusQuery } from '../workflows/runbook/messages';
import type { OpenGate } from '../workflows/runbook/types';

export const PENDING_QUERY = `ExecutionStatus = 'Running' AND RunbookWaitingOn IS NOT NULL`;

export interface PendingRun {
  workflowId: string;
  runId: string;
  runbook?: string;
  target?: string;
  waitingOn?: string;
  gate?: OpenGate;
}

export async function listPending(client: Client): Promise<PendingRun[]> {
  const runs: PendingRun[] = [];
  for await (const wf of client.workflow.list({ query: PENDING_QUERY })) {
    const attrs = wf.searchAttributes as Record<string, unknown[] | undefined>;
    const run: PendingRun = {
      workflowId: wf.workflowId,
      runId: wf.runId,
      runbook: attrs.RunbookName?.[0] as string | undefined,
      target: attrs.RunbookTarget?.[0] as string | undefined,
      waitingOn: attrs.RunbookWaitingOn?.[0] as string | undefined,
    };
    try {
      run.gate = (await client.workflow.getHandle(wf.workflowId, wf.runId).query(statusQuery)).openGate;
    } catch {
      // no worker to answer right now: the search attributes still say what waits
    }
    runs.push(run);
  }
  return runs;
}

export function printPending(runs: PendingRun[]): string {
  if (runs.length === 0) return 'no run is waiting for a decision';
  return runs
    .map((r) => {
      const g = r.gate;
      const extra = g ? ` (${g.kind}${g.digest ? `, plan ${g.digest}` : ''}${g.needs > 1 ? `, needs ${g.needs}` : ''}${g.deadline ? `, until ${g.deadline}` : ''})` : '';
      return `${r.workflowId}  ${r.runbook ?? '?'} ${r.target ?? '?'}  waits on ${r.waitingOn ?? '?'}${extra}`;
    })
    .join('\n');
}
