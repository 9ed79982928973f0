// Escapes the non-ASCII characters esbuild's --charset=ascii leaves in regular expression literals
// (evanw/esbuild#4205), so the bundle is pure ASCII: V8 keeps a script's source one byte per character only when all
// of it is Latin-1, and one such character doubles the 1.6 MB source held in the heap. Everything else esbuild has
// already escaped, so what is left sits in regex literals, where \uXXXX matches the same character (only `.source`
// spells it differently). Columns after an escaped character on its line shift in the source map.
//   node scripts/ascii-bundle.mjs bundle/reconciler.js
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const source = readFileSync(file, 'utf8');
let escaped = 0;
const ascii = source.replace(/[^\x00-\x7f]/g, (ch) => {
  escaped++;
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
});
if (escaped > 0) writeFileSync(file, ascii);
process.stdout.write(`${file}: ${escaped} non-ASCII character(s) escaped\n`);
