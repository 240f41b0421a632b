'use strict';
// Perl's to_json($r, {pretty => 1, canonical => 1}) as qm prints it: sorted keys, 3-space indent,
// " : " separator, trailing newline. Strings are byte strings (latin1) so guest bytes pass through.

function encode(value, indent) {
  const pad = '   '.repeat(indent + 1);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + encode(v, indent + 1)).join(',\n')}\n${'   '.repeat(indent)}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  const body = keys.map((k) => `${pad}${JSON.stringify(k)} : ${encode(value[k], indent + 1)}`).join(',\n');
  return `{\n${body}\n${'   '.repeat(indent)}}`;
}

/** Returns a Buffer: the pretty JSON, with strings written back byte for byte. */
function toPerlJson(value) {
  return Buffer.from(encode(value, 0) + '\n', 'latin1');
}

module.exports = { toPerlJson };
