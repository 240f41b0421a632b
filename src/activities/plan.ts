// A change step's plan: target, commands and the facts they came from, with its SHA-256 digest that an
// approval names. Same inputs, same digest; any changed fact or command, a different one.
import { createHash } from 'node:crypto';
import type { Planned, StepPlan } from '../workflows/runbook/types';

export function planOf(target: string, commands: string[], facts: Record<string, string>): StepPlan {
  const canonical = JSON.stringify({ target, commands, facts: Object.fromEntries(Object.entries(facts).sort()) });
  const digest = createHash('sha256').update(canonical).digest('hex');
  return { target, commands, facts, digest };
}

export function planned<F>(plan: StepPlan, facts: F): Planned<F> {
  return { plan, facts };
}
