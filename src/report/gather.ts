// Gathers what a report is built from, for one run and (a program) every phase it started: the
// decoded history, and the `status` query when a worker answers it (a running run needs it; a
// finished one only for its refused decisions, which its result does not carry).
import type { Client } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { statusQuery } from '../workflows/runbook/messages';
import type { RunbookStatus } from '../workflows/runbook/types';
import { decodeHistory, type RunHistory } from './history';

/** Where runs are read from: a Temporal client, or recorded histories in a test. */
export interface RunSource {
  converter: LoadedDataConverter;
  history(workflowId: string, runId?: string): Promise<temporal.api.history.v1.IHistory>;
  /** The run's status query; undefined when no worker answers (the report says so). */
  status(workflowId: string, runId?: string): Promise<RunbookStatus | undefined>;
}

export interface RunRecord {
  history: RunHistory;
  status?: RunbookStatus;
  /** Why the status query gave nothing, when it did not. */
  statusUnavailable?: string;
  /** The phases (child workflows) the run started, in the order it started them. */
  children: RunRecord[];
}

export async function gatherRun(source: RunSource, workflowId: string, runId?: string, depth = 0): Promise<RunRecord> {
  const raw = await source.history(workflowId, runId);
  const history = await decodeHistory(raw, source.converter, { workflowId, runId });
  let status: RunbookStatus | undefined;
  let statusUnavailable: string | undefined;
  try {
    status = await source.status(workflowId, history.runId || runId);
    if (!status) statusUnavailable = 'no worker answered the status query';
  } catch (err) {
    statusUnavailable = `the status query failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const children: RunRecord[] = [];
  // a program's phases are one level down; a phase starts none of its own
  if (depth < 2) {
    for (const child of history.children) {
      children.push(await gatherRun(source, child.workflowId, child.runId, depth + 1));
    }
  }
  return { history, status, statusUnavailable, children };
}

/**
 * A RunSource on a client (the CLI's: its connection, namespace and data converter, codec included).
 * The status query gets `queryTimeoutMs`: a finished run is answered only while some worker polls
 * its task queue, and a report must not hang on a machine that runs none.
 */
export function clientSource(client: Client, opts: { queryTimeoutMs?: number; query?: boolean } = {}): RunSource {
  const timeout = opts.queryTimeoutMs ?? 5_000;
  // once a query went unanswered, the phases' would too (one task queue): do not wait for each
  let unanswered: string | undefined;
  return {
    converter: client.options.loadedDataConverter,
    history: (workflowId, runId) => client.workflow.getHandle(workflowId, runId).fetchHistory(),
    status: async (workflowId, runId) => {
      if (opts.query === false) return undefined;
      if (unanswered) throw new Error(unanswered);
      const handle = client.workflow.getHandle(workflowId, runId);
      try {
        return await client.withDeadline(Date.now() + timeout, () => handle.query(statusQuery));
      } catch (err) {
        if (isDeadline(err)) unanswered = `no worker answered within ${timeout / 1000}s`;
        throw unanswered ? new Error(unanswered) : err;
      }
    },
  };
}

/** The query's deadline passed (gRPC DEADLINE_EXCEEDED): nobody polls the run's task queue. */
function isDeadline(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 4 || /deadline/i.test(e.message)) return true;
  }
  return false;
}
