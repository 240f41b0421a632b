// Placeholders for the generated runbook docs: the real command renderers are called with stand-in
// values, and the stand-ins are shown as <name>. A stand-in is shaped to pass the renderer's own
// validators (a lowercase word, a job id, a fingerprint, a VM id), so the renderer runs unchanged and
// never needs to quote it: the doc shows the text the renderer produces, with <name> where a value goes.

interface Placeholder {
  sentinel: string;
  shown: string;
}

const all: Placeholder[] = [];

function register(sentinel: string, name: string): string {
  all.push({ sentinel, shown: `<${name}>` });
  return sentinel;
}

/** A word value (a node, host, pool, path part...): passes the name validators (a lowercase DNS label). */
export function word(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return register(`xph-${slug}-${all.length}-x`, name);
}

/** An absolute path value, shown as <name> (not /<name>). */
export function path(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return register(`/xph-${slug}-${all.length}-x`, name);
}

/** An IP address value (the inventory's node addresses). */
export function ip(name: string): string {
  return register(`0.0.${Math.floor(all.length / 250)}.${(all.length % 250) + 1}`, name);
}

/** A Proxmox VM or CT id (validVmid wants an integer from 100 to 999999999). */
export function id(name: string): number {
  const n = 999_000_000 + all.length;
  register(String(n), name);
  return n;
}

/** A PBS certificate fingerprint (32 hex pairs). */
export function fingerprint(name: string): string {
  const hex = (all.length % 256).toString(16).padStart(2, '0');
  return register(Array.from({ length: 32 }, (_, i) => (i === 0 ? 'fe' : hex)).join(':'), name);
}

/** The text with every stand-in replaced by its <name> (a quoted stand-in loses its quotes too). */
export function shown(text: string): string {
  let out = text;
  // longest first: no stand-in is a prefix of a longer one's replacement
  for (const p of [...all].sort((a, b) => b.sentinel.length - a.sentinel.length)) {
    out = out.split(`'${p.sentinel}'`).join(p.shown).split(p.sentinel).join(p.shown);
  }
  return out;
}
