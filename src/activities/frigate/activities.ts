// Phase 3 activities: devices in the VM, Frigate in K3s, its API (filled in by the Phase 3 work).
import type { ActivityDeps } from '../deps';

export function frigateActivities(_deps: ActivityDeps) {
  return {};
}
