// Read-only checks and preflights as local activities: the worker runs them itself, within the
// workflow task, and records each result as a marker, instead of one round trip through the server
// per step (schedule, poll, complete, new workflow task). Changes, watchers and long waits stay normal
// activities: they heartbeat, and a local activity cannot (heartbeat() does nothing in one).
//
// Runs recorded before this scheduled their checks as normal activities; replaying them must schedule
// the same. Every call asks patched('local-checks') where the check runs: a new run records the patch
// marker at its first check and runs every check locally; an old history has no marker, so replay
// gets the normal activities it recorded (a run still open when the worker is upgraded goes on with
// local checks from its next check, which its history then records).
import { patched, proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';

export const LOCAL_CHECKS_PATCH = 'local-checks';

/** The activities of A as plain async functions (no executeWithOptions: the two proxies differ there). */
export type ReadOnlyActivities<A> = {
  [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

/**
 * A proxy for read-only activities: local activities once the run has the `local-checks` patch, the
 * normal activities of `options` otherwise. The local ones keep the same start-to-close timeout and
 * retry policy; a dead worker's check is retried when its workflow task times out (seconds), since
 * the heartbeat timeout does not apply to a local activity.
 */
export function readOnlyActivities<A extends object>(options: ActivityOptions): ReadOnlyActivities<A> {
  const normal = proxyActivities<A>(options) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const local = proxyLocalActivities<A>(localOptions(options)) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as ReadOnlyActivities<A>, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      // patched() is asked when the check is called (workflow context, the same point on replay)
      return (...args: unknown[]) => (patched(LOCAL_CHECKS_PATCH) ? local : normal)[name]!(...args);
    },
  });
}

export function localOptions(options: ActivityOptions): LocalActivityOptions {
  const { startToCloseTimeout, scheduleToCloseTimeout, retry, summary } = options;
  return { startToCloseTimeout, scheduleToCloseTimeout, retry, summary };
}
