// A tiny runbook that uses the kit's soak and timer steps the way a real runbook does:
// watch the world for a while, wait out a grace period, then one more check.
import { proxyActivities } from '@temporalio/workflow';
import { Runbook, type StepDef } from '../../src/workflows/runbook/runbook';
import type { Evidence, RunbookResult } from '../../src/workflows/runbook/types';

export interface SoakHarnessActivities {
  soakCheck(): Promise<Evidence & { healthy: boolean }>;
  afterGrace(): Promise<Evidence>;
}

export interface SoakHarnessInput {
  duration: string;
  every: string;
  grace: string;
  dryRun?: boolean;
}

export const SOAK_HARNESS_STEPS: StepDef[] = [
  { id: 'soak', title: 'The service stays healthy', kind: 'soak' },
  { id: 'grace', title: 'Grace period before the old one goes', kind: 'wait' },
  { id: 'after-grace', title: 'Look once more after the grace period', kind: 'check' },
];

const acts = proxyActivities<SoakHarnessActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 1 } });

export async function soakHarness(input: SoakHarnessInput): Promise<RunbookResult> {
  const rb = new Runbook({ name: 'soak-harness', target: 'test', dryRun: input.dryRun, steps: SOAK_HARNESS_STEPS });
  return rb.run(async () => {
    await rb.soak('soak', { duration: input.duration, every: input.every, check: () => acts.soakCheck() });
    await rb.timer('grace', input.grace, 'give the users time to notice');
    await rb.check('after-grace', () => acts.afterGrace());
    return `soaked ${input.duration} and waited ${input.grace}`;
  });
}
