// What the ghost-text status bar item says: on or off, a spinner while a suggestion is asked for,
// and in the tooltip what a click does. Independent of the vscode API.
import type { ConnectionState } from './connection';

export const TOGGLE_COMMAND = 'switchboard.toggleInlineCompletions';

export interface InlineStatusState {
  enabled: boolean;
  busy: boolean;
  server: ConnectionState;
}

export interface InlineStatusView {
  text: string;
  tooltip: string;
}

export function inlineStatusView(state: InlineStatusState): InlineStatusView {
  const icon = state.busy ? '$(loading~spin)' : state.enabled ? '$(check)' : '$(circle-slash)';
  const lines = [
    state.enabled
      ? 'Switchboard ghost text is on: suggestions appear as you type, and Tab accepts one. Click to turn it off.'
      : 'Switchboard ghost text is off; Complete Here still asks for a suggestion. Click to turn it on.',
  ];
  if (state.busy) {
    lines.unshift('Asking the model for a suggestion…');
  }
  if (state.server === 'notFound' || state.server === 'failed' || state.server === 'stopped') {
    lines.push('The Switchboard server is not running, so no suggestions come.');
  }
  return { text: `${icon} Completions`, tooltip: lines.join('\n\n') };
}

/** Where the toggle writes: the workspace when the setting is set there (it would win), else the user settings. */
export function toggleTarget(inspected: { workspaceValue?: unknown } | undefined): 'workspace' | 'global' {
  return inspected?.workspaceValue !== undefined ? 'workspace' : 'global';
}
