// When the target is the lab (the inventory's `lab`), a manual step's instructions also name the
// `npm run lab -- <verb>` that does on the lab what a person does on the hardware (lab/src/verbs.ts).

/** POSIX single quotes where a word needs them (as src/activities/exec/quote.ts, which workflows cannot import). */
function word(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** " In the lab, from the project's directory, `npm run lab -- <args> --dir <dir>` does it." or "" on a real homelab. */
export function inTheLab(lab: { dir: string } | undefined, verbs: string[][]): string {
  if (!lab) return '';
  const lines = verbs.map((args) => `\`${['npm', 'run', 'lab', '--', ...args, '--dir', lab.dir].map(word).join(' ')}\``);
  return ` In the lab, from the project's directory, ${lines.join(' then ')} does it.`;
}
