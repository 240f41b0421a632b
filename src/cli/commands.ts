// What each CLI command does, loaded only when a command runs (src/client.ts defines the commands and
// their help without the Temporal SDK, so `runbook --help` answers at once).
import type { Client } from '@temporalio/client';
import { RUNBOOK_NAME, RUNBOOK_TARGET } from '../workflows/runbook/search-attributes';
import { statusQuery } from '../workflows/runbook/messages';
import type { RunbookResult, RunbookStatus } from '../workflows/runbook/types';
import { startText } from '../workflows/runbook/decision';
import { TASK_QUEUE } from '../shared/connection';
import { ensureSearchAttributes } from '../shared/search-attributes-setup';
import { printPlan, printStatus } from './print';
import { output, withClient } from './context';
import { decide, type DecideRequest } from './decide';
import { listPending, printPending } from './pending';
import { heartbeats } from './heartbeats';
import { progress, watch as watchRun } from './watch';
import { writeReport, type ReportOptions } from './report';
import { defaultWorkflowId, runbookEntry, startInput } from './runbooks';
import { findSigningKey } from './signing';
import { runSigner } from './signer';

export interface StartOptions {
  node?: string;
  dryRun?: boolean;
  readyTimeout?: number;
  gateDeadline?: string;
  soak?: string;
  input?: string;
  id?: string;
  by: string;
  key?: string;
  wait?: boolean;
}

/**
 * The start signed with --key or the agent's first key when there is one: startText of this
 * namespace, workflow ID, runbook and pre-approvals. Pre-approvals need it; without a key the run
 * starts unsigned (the workflow refuses pre-approvals then, and says so).
 */
async function signStart(namespace: string, workflowId: string, name: string, input: Record<string, unknown>, keyOption?: string): Promise<string | undefined> {
  const found = findSigningKey(keyOption);
  if (!('key' in found)) return undefined;
  try {
    const preApproved = Array.isArray(input.preApproved) ? (input.preApproved as string[]) : [];
    return await found.key.sign(startText({ namespace, workflowId, runbook: name, preApproved }));
  } finally {
    found.key.dispose();
  }
}

async function startRunbook(client: Client, namespace: string, name: string, opts: StartOptions) {
  const entry = runbookEntry(name);
  const request = { ...opts, dryRun: opts.dryRun ?? false };
  const input = startInput(name, request);
  const workflowId = opts.id ?? defaultWorkflowId(name, request);
  const startSignature = await signStart(namespace, workflowId, name, input, opts.key);
  const args = [{ ...input, ...(startSignature ? { startSignature } : {}) }];
  const handle = await client.workflow.start(entry.workflowType, {
    taskQueue: TASK_QUEUE,
    workflowId,
    args,
    staticSummary: `${request.dryRun ? 'Dry run: ' : ''}${entry.summary(request)}`,
    staticDetails: `Requested by ${opts.by} with the runbook CLI.`,
    typedSearchAttributes: [
      { key: RUNBOOK_NAME, value: name },
      ...(opts.node ? [{ key: RUNBOOK_TARGET, value: opts.node }] : []),
    ],
  });
  return { workflowId, handle };
}

/** The run's result, each step shown on stderr as it finishes meanwhile (not with --json: stdout is the data). */
async function resultWithProgress(client: Client, id: string, result: Promise<RunbookResult>, json: boolean): Promise<RunbookResult> {
  if (!json) await progress(client, id, result, (line) => console.error(line));
  return result;
}

export async function start(runbook: string, opts: StartOptions, json: boolean): Promise<void> {
  runbookEntry(runbook);
  await withClient(async (client, _connection, namespace) => {
    const { workflowId, handle } = await startRunbook(client, namespace, runbook, opts);
    if (!opts.wait) return output(json, { workflowId, runId: handle.firstExecutionRunId }, `started ${workflowId}`);
    const result = await resultWithProgress(client, workflowId, handle.result() as Promise<RunbookResult>, json);
    output(json, result, `${result.outcome}: ${result.summary}`);
  });
}

export async function plan(runbook: string, opts: StartOptions, json: boolean): Promise<void> {
  runbookEntry(runbook);
  await withClient(async (client, _connection, namespace) => {
    const id = opts.id ?? `${defaultWorkflowId(runbook, { ...opts, dryRun: false })}-plan-${Date.now()}`;
    const { handle } = await startRunbook(client, namespace, runbook, { ...opts, dryRun: true, id });
    const result = await resultWithProgress(client, id, handle.result() as Promise<RunbookResult>, json);
    output(json, result, printPlan(result));
  });
}

export async function status(id: string, json: boolean): Promise<void> {
  await withClient(async (client) => {
    const handle = client.workflow.getHandle(id);
    const s: RunbookStatus = await handle.query(statusQuery);
    // a step in flight: what its activity last said in its heartbeat (a view only; at a gate, no extra call)
    const progress = s.steps.some((x) => x.state === 'running') ? await heartbeats(client, handle).catch(() => []) : [];
    output(json, progress.length ? { ...s, progress } : s, printStatus(s, progress));
  });
}

export async function watch(id: string, json: boolean): Promise<void> {
  await withClient(async (client) => {
    const final = await watchRun(client, id, (line) => {
      if (!json) console.log(line);
    });
    if (json) output(true, final, '');
  });
}

export async function report(id: string, opts: ReportOptions, json: boolean): Promise<void> {
  await withClient(async (client) => {
    await writeReport(client, id, opts, json);
  });
}

export async function pending(json: boolean): Promise<void> {
  await withClient(async (client) => {
    const runs = await listPending(client);
    output(json, runs, printPending(runs));
  });
}

export async function setup(json: boolean): Promise<void> {
  await withClient(async (_client, connection, namespace) => {
    const added = await ensureSearchAttributes(connection, namespace);
    output(json, { namespace, added }, added.length ? `registered on ${namespace}: ${added.join(', ')}` : `${namespace}: already set up`);
  });
}

export { decide, runSigner as signer, type DecideRequest };

/** The run ended because the workflow or the worker refused (bad input, not authorized), not a fault. */
export async function refusalKind(err: unknown): Promise<'notFound' | 'refused' | undefined> {
  const { ApplicationFailure, WorkflowFailedError, WorkflowNotFoundError } = await import('@temporalio/client');
  if (err instanceof WorkflowNotFoundError) return 'notFound';
  if (!(err instanceof WorkflowFailedError)) return undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && (e.type === 'NotAuthorized' || e.type === 'BadInput')) return 'refused';
  }
  return undefined;
}
