// `runbook report <workflowId>`: the run's incident report, built from its own history (and status,
// when a worker answers), as Markdown or one self-contained HTML page, to stdout or --out FILE.
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { CliError, EXIT } from './context';
import { clientSource, gatherRun } from '../report/gather';
import { renderHtml } from '../report/html';
import { renderMarkdown } from '../report/markdown';
import { buildReport, type Report } from '../report/model';

export interface ReportOptions {
  runId?: string;
  html?: boolean;
  out?: string;
  /** false: never ask a worker for the status (a finished run's report from its history alone). */
  query?: boolean;
  queryTimeout?: number;
}

export async function writeReport(client: Client, workflowId: string, opts: ReportOptions, json: boolean): Promise<Report> {
  const record = await gatherRun(clientSource(client, { query: opts.query, queryTimeoutMs: opts.queryTimeout }), workflowId, opts.runId).catch((err: unknown) => {
    // fetchHistory reports an unknown run as gRPC NOT_FOUND, not as WorkflowNotFoundError
    if (grpcCode(err) === 5) throw new CliError(`not found: ${workflowId}${opts.runId ? ` run ${opts.runId}` : ''}: ${(err as Error).message}`, EXIT.notFound);
    throw err;
  });
  const report = buildReport(record);
  const command = `runbook report ${workflowId}${opts.html ? ' --html' : ''}`;
  const text = json ? JSON.stringify(report, null, 2) + '\n' : opts.html ? renderHtml(report, { command }) : renderMarkdown(report, { command });
  if (opts.out) fs.writeFileSync(opts.out, text);
  else process.stdout.write(text);
  return report;
}

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}
