// Processes a test starts (dev servers, workers) are SIGKILLed when the test process exits, even
// after a failed assertion or an interrupt, so nothing outlives the run.
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

export function trackChild(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}
