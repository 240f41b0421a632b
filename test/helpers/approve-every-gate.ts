// For tests about what a change does, not about its gate: every approval gate of a run is approved
// as it opens, signed by a lab approver who has not approved it yet (a two-person gate gets two keys).
import type { WorkflowHandle } from '@temporalio/client';
import type { Lab } from '../../lab/src/index';
import { statusQuery } from '../../src/workflows/runbook/messages';
import { send } from './decide';

const APPROVERS = ['alice', 'bob', 'carol'];

/** Approves every gate of `h` until the run closes; returns a stop function. */
export function approveEveryGate(lab: Lab, h: WorkflowHandle): () => void {
  let stopped = false;
  // once the run has closed the loop ends before its next query (the test may tear the stack down then)
  h.result().then(
    () => (stopped = true),
    () => (stopped = true),
  );
  const sent = new Set<string>();
  void (async () => {
    while (!stopped) {
      try {
        const st = await h.query(statusQuery);
        if (!['running', 'waiting'].includes(st.state)) return;
        const gate = st.openGate;
        if (gate?.kind === 'approval') {
          const by = APPROVERS.find((a) => !gate.approvedBy.some((x) => x === a || x.startsWith(`${a} (`)));
          const key = `${gate.step}@${gate.since}#${gate.approvedBy.length}`;
          if (by && !sent.has(key)) {
            sent.add(key);
            await send(lab, h, 'approve', { step: gate.step, by, digest: gate.digest });
          }
        }
      } catch {
        // the run may be between tasks (a worker killed on purpose): try again
      }
      await new Promise((r) => setTimeout(r, 500));
      if (stopped) return;
    }
  })();
  return () => {
    stopped = true;
  };
}
