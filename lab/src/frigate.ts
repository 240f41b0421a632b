// Phase 3's part of the lab: PCIe devices, /dev/apex_0 and /dev/dri in the VM, vainfo, Frigate in K3s and its API.
import type { LabJson } from './topology';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const FRIGATE_BINS: string[] = [];

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupFrigate(_dir: string, _l: LabJson): Promise<void> {}

/** This part's sections of the lab's inventory.yaml. */
export function frigateInventory(_l: LabJson): Record<string, unknown> {
  return {};
}

/** Test-facing view and faults (lab.frigate). */
export class LabFrigate {
  constructor(readonly dir: string) {}
}
