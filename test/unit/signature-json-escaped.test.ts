// normalizeSignature takes the JSON-escaped form of what ssh-keygen writes, its trailing "\n" included
// (a UI paste of a JSON string); found by the unit tests of issue 11, failing before the fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSignature } from '../../src/workflows/runbook/decision';

describe('normalizeSignature: a JSON-escaped paste', () => {
  it('the JSON-escaped form of ssh-keygen output, trailing "\\n" included, comes back to the armored form', () => {
    const armored = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgnWrUTMMJtf6BlkkFaGF/8K7HVs\n-----END SSH SIGNATURE-----\n';
    const jsonEscaped = JSON.stringify(armored).slice(1, -1); // ...-----END SSH SIGNATURE-----\n (backslash, n)
    assert.equal(normalizeSignature(jsonEscaped), armored);
  });
});
