// A time-skipping test environment: the Java test server from scripts/temporal-test-server.sh (or the
// SDK's download), so days-long gates, soaks and timers of a run pass in seconds of wall time.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../../src/workflows/runbook/search-attributes';
import { recordingLogger } from './secrets';

let resolved: { path?: string } | undefined;

/** The test server's path from the script, once per process; undefined: let the SDK download it. */
export function resolveTestServer(): string | undefined {
  if (!resolved) {
    const script = path.join(__dirname, '..', '..', 'scripts', 'temporal-test-server.sh');
    try {
      resolved = { path: execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim() || undefined };
    } catch (err) {
      if ((err as { status?: number }).status !== 3) throw err;
      resolved = {};
    }
  }
  return resolved.path;
}

let runtimeInstalled = false;

/**
 * Starts a time-skipping environment. Time only skips while the test awaits a workflow result
 * (`handle.result()`) or `env.sleep()`; queries and signals see a server whose clock is locked.
 * While a gate without a deadline waits, advance with `env.sleep()` and decide it before awaiting the
 * result: with no timer left, the server would skip straight to the run's timeout.
 * `startupMs`: until the server answered (the JVM): 0.6-0.8 s here (2 cores, loaded), 1.2-1.4 s without
 * the script's class archive; sdk-core gives up after 5 s.
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment & { startupMs: number }> {
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: recordingLogger('WARN') });
    } catch {
      // another helper of this process installed it first
    }
    runtimeInstalled = true;
  }
  const exe = resolveTestServer();
  const t0 = Date.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: exe ? { type: 'existing-path', path: exe } : { type: 'cached-download' } },
  });
  const startupMs = Date.now() - t0;
  // the test server refuses unknown search attributes (the dev server gets them as start flags)
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(RUNBOOK_SEARCH_ATTRIBUTES.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return Object.assign(env, { startupMs });
}

let harness: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The test-only workflows of test/workflows (they use the runbook kit like a real runbook). */
export function harnessBundle(): Promise<WorkflowBundleWithSourceMap> {
  harness ??= bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', 'workflows'), logger: new DefaultLogger('WARN') });
  return harness;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
