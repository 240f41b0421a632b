// The benchmark's activity: one command on a host through the project's exec layer (ssh2 pool),
// returning when it ran (for the per-step profile). Read-only commands only.
import { appendFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { activityRunOptions } from '../src/activities/deps';
import type { Executor } from '../src/activities/exec/types';

export interface StepTiming {
  step: number;
  /** Server time the current attempt was scheduled (ms since epoch). */
  scheduledAt: number;
  /** Worker time the activity function started / the command's result was in (ms since epoch). */
  startedAt: number;
  endedAt: number;
  attempt: number;
}

/** `stepLog`: a file that gets one JSON line per step start (the crash/resume benchmark reads it). */
export function createBenchActivities(exec: Executor, stepLog?: string) {
  return {
    async benchStep({ host, command, step }: { host: string; command: string; step: number }): Promise<StepTiming> {
      const startedAt = Date.now();
      const info = Context.current().info;
      if (stepLog) appendFileSync(stepLog, JSON.stringify({ step, attempt: info.attempt, pid: process.pid, t: startedAt }) + '\n');
      const res = await exec.run({ kind: 'host', host }, command, activityRunOptions({ timeoutMs: 30_000 }));
      if (res.exitCode !== 0) {
        throw ApplicationFailure.nonRetryable(`step ${step} on ${host}: \`${command}\` exited ${res.exitCode}: ${res.stderr.trim()}`, 'StepFailed');
      }
      return { step, scheduledAt: info.currentAttemptScheduledTimestampMs, startedAt, endedAt: Date.now(), attempt: info.attempt };
    },
  };
}

/** All commands of the runbook in one activity (one step that runs a whole read-only check). */
export function createBatchActivity(exec: Executor) {
  return {
    async benchBatch({ host, commands }: { host: string; commands: string[] }): Promise<number> {
      for (const command of commands) {
        const res = await exec.run({ kind: 'host', host }, command, activityRunOptions({ timeoutMs: 30_000 }));
        if (res.exitCode !== 0) throw ApplicationFailure.nonRetryable(`\`${command}\` on ${host} exited ${res.exitCode}`, 'StepFailed');
      }
      return commands.length;
    },
  };
}

export type BenchActivities = ReturnType<typeof createBenchActivities> & ReturnType<typeof createBatchActivity>;
