// Parsers for `zpool` output (openzfs/zfs cmd/zpool/zpool_main.c: list -H prints tab-separated fields,
// `import` without a pool name prints one block per importable pool via show_import()).

/** `zpool list -H -o name,health`: tab-separated, no header. */
export function parseZpoolListH(text: string): { name: string; health: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [name, health] = l.split('\t');
      return { name: name!.trim(), health: (health ?? '').trim() };
    });
}

export interface ImportablePool {
  name: string;
  id: string;
  state: string;
  /** The pool was not exported: `zpool import` would need -f. */
  inUseElsewhere: boolean;
  /** The vdev lines under config: (by-id names with -d /dev/disk/by-id). */
  devices: string[];
}

/** `zpool import [-d dir]` without a pool name: one block per importable pool. */
export function parseZpoolImport(text: string): ImportablePool[] {
  const blocks = text.split(/^(?=\s*pool: )/m).filter((b) => /^\s*pool: /.test(b));
  return blocks.map((b) => {
    const field = (k: string) => new RegExp(`^\\s*${k}: (.*)$`, 'm').exec(b)?.[1]?.trim() ?? '';
    const config = b.split(/^\s*config:\s*$/m)[1] ?? '';
    const devices = config
      .split('\n')
      .map((l) => /^\t\s+(\S+)\s+\S+/.exec(l)?.[1])
      .filter((d): d is string => Boolean(d));
    return {
      name: field('pool'),
      id: field('id'),
      state: field('state'),
      inUseElsewhere: /last accessed by another system|previously in use from another system/i.test(b),
      devices,
    };
  });
}

/** Entries of `ls -1 /dev/disk/by-id/` naming the whole disk with this serial (never a -partN link). */
export function findDiskBySerial(listing: string, serial: string): string[] {
  return listing
    .split('\n')
    .map((l) => l.trim())
    .filter((name) => name.endsWith(`_${serial}`) && /^(ata|nvme|scsi|usb|sas)-/.test(name));
}
