#!/usr/bin/env node
// @ts-check
// Regenerates the README's VS Code screenshots from the real editor: code-server with this
// extension, the real `switchboard serve` and the loopback fake provider (as scripts/run-e2e.js),
// driven through out/test/screenshots. Writes vscode-chat.png and vscode-ghost-text.png.
//
// usage: node scripts/screenshots.js [OUT_DIR]     (after `npm run build`; default: docs/images)
'use strict';
const path = require('node:path');
const { main } = require('./run-e2e');

const out = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', '..', 'docs', 'images'));
main({ testsPath: path.join('out', 'test', 'screenshots'), artifacts: out }).catch((error) => {
  console.error(error);
  process.exit(1);
});
