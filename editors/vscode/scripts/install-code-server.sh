#!/usr/bin/env bash
# Installs code-server (a real VS Code extension host) from the npm registry
# alone, into DIR, for the extension-host tests. Its own postinstall would
# download ripgrep from outside the registry, so the steps are done by hand
# and Debian's ripgrep (/usr/bin/rg) stands in.
# usage: install-code-server.sh DIR VERSION
# DIR is complete once DIR/.complete exists; a half-done install is redone.
set -euo pipefail
dir=$1
version=$2
[ -f "$dir/.complete" ] && exit 0

work="$dir.partial"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
export npm_config_yes=true npm_config_nodedir=/usr npm_config_fund=false npm_config_audit=false
npm init -y >/dev/null
npm install --ignore-scripts --no-save "code-server@$version"
npm rebuild argon2
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
npm rebuild
(cd extensions && npm install --omit=dev)
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)

cd /
rm -rf "$dir"
mv "$work" "$dir"
touch "$dir/.complete"
