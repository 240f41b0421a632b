// A real Temporal dev server for tests: the CLI from scripts/temporal-cli.sh (or the SDK download),
// with the project's search attributes registered, and one workflow bundle shared by every worker.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import net from 'node:net';
import path from 'node:path';
import { FAILURE_CONVERTER_PATH } from '../../src/shared/codec';
import { temporalExecutable } from '../../src/shared/temporal-cli';
import { recordingLogger } from './secrets';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookStatus } from '../../src/workflows/runbook/types';

let runtimeInstalled = false;

export interface TemporalOptions {
  /** Serve the dev server's Web UI on a free loopback port (its URL is `uiUrl`). */
  ui?: boolean;
}

export async function startTemporal(
  options: TemporalOptions = {},
): Promise<TestWorkflowEnvironment & { uiUrl?: string }> {
  if (!runtimeInstalled) {
    // prints WARN and up as before; also records everything for the secrets scan (test/helpers/secrets.ts)
    Runtime.install({ logger: recordingLogger('WARN') });
    runtimeInstalled = true;
  }
  const uiPort = options.ui ? await freePort() : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: temporalExecutable(),
      searchAttributes: RUNBOOK_SEARCH_ATTRIBUTES,
      ...(uiPort ? { ui: true, uiPort } : {}),
    },
  });
  return Object.assign(env, { uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined });
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', '..', 'src', 'workflows'), failureConverterPath: FAILURE_CONVERTER_PATH, logger: new DefaultLogger('WARN') });
  return bundle;
}

/**
 * Polls the status query until `pred` holds (the run reached a gate, a step, an end). With `client`,
 * each query gets a 3 s deadline of its own (while a server restarts, a query would hang otherwise).
 */
export async function waitForStatus(
  handle: WorkflowHandle,
  pred: (s: RunbookStatus) => boolean,
  timeoutMs = 60_000,
  client?: Client,
): Promise<RunbookStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RunbookStatus | undefined;
  for (;;) {
    try {
      last = await (client ? client.withDeadline(Date.now() + 3_000, () => handle.query(statusQuery)) : handle.query(statusQuery));
      if (pred(last)) return last;
    } catch {
      // the first workflow task may not have run yet
    }
    if (Date.now() > deadline) {
      throw new Error(`status condition not met in ${timeoutMs} ms; last status: ${JSON.stringify(last, null, 1)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `pred` (sync or async) every `everyMs` until it holds. */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The run waits at this step's gate (of this kind, when given: approval, manual or failed). */
export const gateOpen = (step: string, kind?: NonNullable<RunbookStatus['openGate']>['kind']) => (s: RunbookStatus) =>
  s.openGate?.step === step && (kind === undefined || s.openGate.kind === kind);

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}`;
}

/** Every string and decoded payload of a history, to scan for secrets. */
export function historyText(history: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'), Buffer.from(v).toString('base64'));
    else if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(history);
  return out.join('\n');
}
