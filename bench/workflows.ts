// The benchmark's own read-only runbooks (bundled separately from src/workflows): one activity per
// command, on one host (benchSteps) or on many hosts at once (benchFanout).
import { condition, defineSignal, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { BenchActivities, StepTiming } from './activities';

export interface BenchStepsInput {
  host: string;
  commands: string[];
  /** 'activity' (default): a normal activity per step; 'local': a local activity per step. */
  mode?: 'activity' | 'local';
  heartbeatTimeout?: string;
  /** Wait for the `go` signal before this step (a gate, as a runbook waits for approval). */
  gateBefore?: number;
}

export interface BenchFanoutInput {
  hosts: string[];
  commands: string[];
  mode?: 'activity' | 'local';
}

export const goSignal = defineSignal('go');

function stepRunner(mode: 'activity' | 'local' | undefined, heartbeatTimeout = '30s') {
  const retry = { initialInterval: '200ms', maximumAttempts: 5 };
  if (mode === 'local') return proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '1m', retry }).benchStep;
  return proxyActivities<BenchActivities>({ startToCloseTimeout: '1m', heartbeatTimeout, retry }).benchStep;
}

/** The read-only runbook: every command in order, each its own step. Returns each step's timing. */
export async function benchSteps(input: BenchStepsInput): Promise<StepTiming[]> {
  const step = stepRunner(input.mode, input.heartbeatTimeout);
  let go = false;
  setHandler(goSignal, () => void (go = true));
  const out: StepTiming[] = [];
  for (let i = 0; i < input.commands.length; i++) {
    if (input.gateBefore === i) await condition(() => go);
    out.push(await step({ host: input.host, command: input.commands[i]!, step: i }));
  }
  return out;
}

/** The same runbook on every host at once (per host the steps stay in order). Returns the step count. */
export async function benchFanout(input: BenchFanoutInput): Promise<number> {
  const step = stepRunner(input.mode);
  const perHost = await Promise.all(
    input.hosts.map(async (host) => {
      for (let i = 0; i < input.commands.length; i++) await step({ host, command: input.commands[i]!, step: i });
      return input.commands.length;
    }),
  );
  return perHost.reduce((a, b) => a + b, 0);
}

/** The same commands as one step: one activity runs them all in order. */
export async function benchBatch(input: { host: string; commands: string[] }): Promise<number> {
  const { benchBatch } = proxyActivities<BenchActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '30s', retry: { maximumAttempts: 5 } });
  return benchBatch(input);
}
