#!/usr/bin/env node
// @ts-check
// Bundles the extension (src/extension.ts and what it imports: the language client, highlight.js)
// into dist/extension.js with esbuild, so the .vsix holds one file and no node_modules.
// `npm run build` runs it after tsc (which type-checks, and compiles the tests into out/).
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const EXT = path.resolve(__dirname, '..');

async function main() {
  const result = await esbuild.build({
    entryPoints: [path.join(EXT, 'src', 'extension.ts')],
    outfile: path.join(EXT, 'dist', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs)
    .filter((_, index) => Object.keys(result.metafile.outputs)[index].endsWith('.js'))
    .reduce((sum, output) => sum + output.bytes, 0);
  console.log(`dist/extension.js: ${(bytes / 1024).toFixed(0)} KiB`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
