// Parses `lspci -nn` / `lspci -nnk` (pciutils): one line per device, `\t`-indented sub-lines with -k.
// Format: pciutils lspci.c show_terse (`<slot> <class> [cccc]: <vendor> <device> [vvvv:dddd] (rev xx)`,
// `\tSubsystem:` with -k) and ls-kernel.c show_kernel (`\tKernel driver in use:`, `\tKernel modules: a, b`).
// Ids are matched as `[vvvv:dddd]`: names come from pci.ids (lib/names.c) and differ between versions.

export interface PciDevice {
  slot: string;
  description: string;
  /** `1ac1:089a`, the last `[vvvv:dddd]` on the line (the class code `[0880]` has no colon). */
  id: string | null;
  driverInUse?: string;
  modules?: string[];
}

export function parseLspci(text: string): PciDevice[] {
  const out: PciDevice[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (/^\s/.test(line)) {
      const dev = out[out.length - 1];
      const [key, ...rest] = line.trim().split(':');
      const value = rest.join(':').trim();
      if (!dev) continue;
      if (key === 'Kernel driver in use') dev.driverInUse = value;
      if (key === 'Kernel modules') dev.modules = value.split(',').map((m) => m.trim()).filter(Boolean);
      continue;
    }
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const ids = [...m[2]!.matchAll(/\[([0-9a-f]{4}:[0-9a-f]{4})\]/g)];
    out.push({ slot: m[1]!, description: m[2]!, id: ids.length ? ids[ids.length - 1]![1]! : null });
  }
  return out;
}
