// Registers the runbooks' search attributes on a namespace (idempotent). The dev server only adds
// `--search-attribute`s when it creates its database, so a persistent one needs this too.
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { RUNBOOK_SEARCH_ATTRIBUTES } from '../workflows/runbook/search-attributes';

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = RUNBOOK_SEARCH_ATTRIBUTES.filter((k) => !(k.name in known));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, KEYWORD])),
    });
  }
  return missing.map((k) => k.name);
}
