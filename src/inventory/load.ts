// Loads inventory.yaml: parse, validate, and report every problem at once with its path.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { crossCheckInventory, inventorySchema, type Inventory } from './schema.js';

export interface InventoryProblem {
  path: string;
  message: string;
}

/** `hosts.pve.port`, `approvers[0]`, `(root)` for the document itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    // a name with a space, a newline or a separator in it is shown quoted, so the path stays one unambiguous line
    else if (!/^[^\s.[\]"\p{C}]+$/u.test(String(p))) out += `[${JSON.stringify(String(p))}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

/** One line per problem; unknown keys and bad record keys point at the key itself. */
export function zodProblems(error: z.ZodError): InventoryProblem[] {
  const problems: InventoryProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else if (issue.code === 'invalid_key') {
      const why = issue.issues.map((i) => i.message).join('; ');
      problems.push({ path: formatPath(issue.path), message: `invalid name: ${why}` });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

function invalid(source: string, problems: InventoryProblem[]): never {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
  throw ApplicationFailure.nonRetryable(
    `invalid inventory ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    'InvalidInventory',
    ...problems.map((p) => `${p.path}: ${p.message}`),
  );
}

/** `~/x` → home; relative paths → against the inventory file's directory. */
export function resolvePath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Validates inventory YAML text; `baseDir` anchors relative key and known_hosts paths. */
export function parseInventory(text: string, baseDir: string, source = '(text)'): Inventory {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    invalid(
      source,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line} column ${e.linePos[0].col}` : '(yaml)',
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // e.g. an alias to an anchor that does not exist: yaml throws a bare ReferenceError here
    invalid(source, [{ path: '(yaml)', message: (err as Error).message }]);
  }
  const result = inventorySchema.safeParse(raw);
  if (!result.success) {
    const problems = zodProblems(result.error);
    // zod skips the cross-field checks while a field is invalid: run them here so one pass reports all.
    for (const c of crossCheckInventory(raw)) {
      const p = { path: formatPath(c.path), message: c.message };
      if (!problems.some((q) => q.path === p.path && q.message === p.message)) problems.push(p);
    }
    invalid(source, problems);
  }
  const inv = result.data;
  if (inv.ssh.privateKeyPath) inv.ssh.privateKeyPath = resolvePath(inv.ssh.privateKeyPath, baseDir);
  if (inv.ssh.knownHostsPath) inv.ssh.knownHostsPath = resolvePath(inv.ssh.knownHostsPath, baseDir);
  return inv;
}

/** Reads and validates an inventory file; any problem is a non-retryable `InvalidInventory`. */
export function loadInventory(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`cannot read inventory ${path}: ${(err as Error).message}`, 'InvalidInventory');
  }
  return parseInventory(text, dirname(resolve(path)), path);
}
