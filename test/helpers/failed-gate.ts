// A step that failed waits at its `failed` gate (retry or abort) instead of failing the run: tests
// that drive a run into a failure wait for that gate, then decide it as an operator would.
import type { WorkflowHandle } from '@temporalio/client';
import type { Lab } from '../../lab/src/index';
import type { RunbookResult, RunbookStatus, StepStatus } from '../../src/workflows/runbook/types';
import { statusQuery } from '../../src/workflows/runbook/messages';
import { decide } from './decide';
import { waitForStatus } from './temporal';

/** Waits until a step of `h` waits at its failed gate (or the run ends); returns the status and that step. */
export async function atFailedGate(h: WorkflowHandle, timeoutMs = 300_000): Promise<{ status: RunbookStatus; step?: StepStatus }> {
  const status = await waitForStatus(h, (s) => s.openGate?.kind === 'failed' || !['running', 'waiting'].includes(s.state), timeoutMs);
  const step = status.openGate?.kind === 'failed' ? status.steps.find((x) => x.id === status.openGate!.step) : undefined;
  return { status, step };
}

/** Sends `retry` or `abort` to the failed gate of `step`, signed by a lab approver. */
export async function decideFailed(lab: Lab, h: WorkflowHandle, step: string, decision: 'retry' | 'abort', by = 'alice'): Promise<void> {
  await decide(lab, h, decision, { step, by });
}

/** Aborts the run at its failed step and returns its result (outcome "aborted"). */
export async function abortAtFailure(lab: Lab, h: WorkflowHandle, step: string, by = 'alice'): Promise<RunbookResult> {
  await decideFailed(lab, h, step, 'abort', by);
  return (await h.result()) as RunbookResult;
}

/**
 * The run's result, or an error naming the step as soon as one waits at its failed gate: a run that
 * should complete never leaves the test waiting out its timeout at a gate nobody will answer.
 */
export async function resultUnlessFailed(h: WorkflowHandle): Promise<RunbookResult> {
  let settled = false;
  const result = h.result().finally(() => (settled = true)) as Promise<RunbookResult>;
  const failedGate = (async (): Promise<never> => {
    // stops polling as soon as the result is in (a closed connection must not make it poll forever)
    while (!settled) {
      const s = await h.query(statusQuery).catch(() => undefined);
      if (!settled && s?.openGate?.kind === 'failed') {
        const step = s.steps.find((x) => x.id === s.openGate!.step);
        throw new Error(`"${s.openGate.step}" failed and waits at its failed gate: ${step?.error ?? ''}\n${s.openGate.instructions}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return new Promise<never>(() => undefined);
  })();
  return Promise.race([result, failedGate]);
}
