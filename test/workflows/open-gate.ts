// Test-only workflow for the signer (test/e2e/signer.test.ts), bundled on its own: a run that answers
// the runbooks' `status` query with the open gate it was given, records every decision signal it gets
// (`received` query), and moves its gate when told (`moveGate`), until `finish`.
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import { statusQuery } from '../../src/workflows/runbook/messages';
import type { OpenGate, RunbookStatus } from '../../src/workflows/runbook/types';

export const receivedQuery = defineQuery<unknown[]>('received');
export const moveGateSignal = defineSignal<[OpenGate | null]>('moveGate');
export const finishSignal = defineSignal('finish');
/** What the UI's Send a Signal sends (its name only matters to the fixture). */
export const approveSignal = defineSignal<[unknown]>('approve');

export async function openGateFixture(input: { gate: OpenGate }): Promise<void> {
  let gate: OpenGate | undefined = input.gate;
  let finished = false;
  const received: unknown[] = [];
  setHandler(statusQuery, (): RunbookStatus => ({ runbook: 'fixture', target: 'fixture', openGate: gate, steps: [], ignored: [] }) as unknown as RunbookStatus);
  setHandler(receivedQuery, () => received);
  setHandler(approveSignal, (d) => void received.push(d));
  setHandler(moveGateSignal, (g) => void (gate = g ?? undefined));
  setHandler(finishSignal, () => void (finished = true));
  await condition(() => finished);
}
