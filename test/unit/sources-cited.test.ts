// The real tools are the spec: every stand-in has a row in lab/SPEC.md's audit that cites where upstream
// its behaviour was read, every parser names the real tool's source (never a stand-in), and no file of
// the project sends its reader to a path on one machine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '../..');
const spec = readFileSync(join(root, 'lab/SPEC.md'), 'utf8');

/** Upstream repositories a citation may name (the tools the lab stands in for and the formats parsed). */
const UPSTREAM = /\b(qemu-server|pve-container|pve-storage|pve-manager|pve-guest-common|pve-cluster|pve-common|pve-access-control|proxmox-backup|k3s(-io)?|etcd(-io)?|kubernetes|kubectl|frigate|pciutils|libva(-utils)?|openzfs|zfs|systemd|QEMU|qga)\b/i;

function auditSection(): string {
  const at = spec.indexOf('## Upstream sources and audit');
  assert.ok(at >= 0, 'lab/SPEC.md has no "## Upstream sources and audit" section');
  return spec.slice(at);
}

/** The audit table's row for a stand-in: a line starting with "| `name`". */
function auditRow(name: string): string | undefined {
  return auditSection()
    .split('\n')
    .find((l) => l.startsWith(`| \`${name}\``));
}

describe('the real tools are cited as the spec', () => {
  const standinsDir = join(root, 'lab/standins');
  const standins = readdirSync(standinsDir).filter((f) => statSync(join(standinsDir, f)).isFile());

  it('finds the stand-ins', () => assert.ok(standins.length >= 10, `only ${standins.length} stand-ins in lab/standins`));

  for (const name of [...standins, 'install.sh']) {
    it(`lab/SPEC.md's audit cites an upstream source for ${name}`, () => {
      const row = auditRow(name);
      assert.ok(row, `no audit row "| \`${name}\` |" in lab/SPEC.md`);
      assert.match(row, UPSTREAM, `the audit row of ${name} names no upstream repository: ${row}`);
    });
  }

  const parseDir = join(root, 'src/activities/parse');
  for (const file of readdirSync(parseDir).filter((f) => f.endsWith('.ts'))) {
    it(`parser ${file} names the real tool's source, not a stand-in`, () => {
      const text = readFileSync(join(parseDir, file), 'utf8');
      const header = text.split('\n').filter((l) => l.startsWith('//')).slice(0, 6).join('\n');
      assert.doesNotMatch(header, /lab\/|stand-?in/i, `${file}'s header cites the lab as its format source`);
      assert.match(header, UPSTREAM, `${file}'s header comment names no upstream source`);
    });
  }

  it('no tracked file names a path of one machine', () => {
    const machinePaths = ['/' + 'work/', 'shared/' + 'LAB.md'];
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    const hits: string[] = [];
    for (const f of tracked) {
      if (f.startsWith('test/histories/') || f === 'package-lock.json' || !existsSync(join(root, f))) continue;
      const text = readFileSync(join(root, f), 'utf8');
      for (const p of machinePaths) if (text.includes(p)) hits.push(`${f}: ${p}`);
    }
    assert.deepEqual(hits, []);
  });
});
