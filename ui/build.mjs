// Builds the dashboard into one directory: index.html, app.js and app.css (no other file, nothing
// loaded from elsewhere at run time). The C build embeds that directory into callqa.
//   node build.mjs OUTDIR [--dev]
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, 'dist'));
const dev = process.argv.includes('--dev');
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: path.join(here, 'src/main.jsx') },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: false,
  legalComments: 'eof',
  outdir: out,
  logLevel: 'warning',
});
// the stylesheet: uPlot's own, then ours
const css = (await readFile(path.join(here, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8')) +
  '\n' + (await readFile(path.join(here, 'src/app.css'), 'utf8'));
await writeFile(path.join(out, 'app.css'), css);
await copyFile(path.join(here, 'src/index.html'), path.join(out, 'index.html'));
