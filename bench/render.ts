// Re-renders docs/benchmarks.md and bench/ratios.svg from bench/results.json (no measuring):
//   npx tsx bench/render.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderMarkdown, renderSvg } from './report';

const results = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8')) as Record<string, unknown>;
fs.writeFileSync(path.join(__dirname, 'ratios.svg'), renderSvg(results));
fs.writeFileSync(path.join(__dirname, '..', 'docs', 'benchmarks.md'), renderMarkdown(results, '../bench/ratios.svg'));
