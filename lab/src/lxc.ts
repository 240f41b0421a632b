// Phase 4's part of the lab: LXC containers (pct), vzdump.
import type { LabJson } from './topology';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const LXC_BINS: string[] = [];

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupLxc(_dir: string, _l: LabJson): Promise<void> {}

/** This part's sections of the lab's inventory.yaml. */
export function lxcInventory(_l: LabJson): Record<string, unknown> {
  return {};
}

/** Test-facing view and faults (lab.lxc). */
export class LabLxc {
  constructor(readonly dir: string) {}
}
