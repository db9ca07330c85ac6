// What to tell the user about a failed request, and which action helps (pure: unit tested).
import { REQUEST_CANCELLED, REQUEST_FAILED, type ErrorData } from './protocol';

export interface ErrorAction {
  title: string;
  command: string;
  args?: unknown[];
}

export interface ErrorReport {
  message: string;
  actions: ErrorAction[];
  cancelled: boolean;
}

/** One way in: Sign In runs the provider's own flow (a device code, OAuth, or a key in a password box). */
const SIGN_IN = (provider?: string | null): ErrorAction => ({
  title: 'Sign In…',
  command: 'switchboard.signIn',
  args: provider ? [provider] : [],
});
const CHOOSE_MODEL: ErrorAction = { title: 'Choose Model', command: 'switchboard.chooseModel' };
const SHOW_LOG: ErrorAction = { title: 'Show Server Log', command: 'switchboard.showServerLog' };
const NEW_CHAT: ErrorAction = { title: 'New Chat', command: 'switchboard.newChat' };

export function actionsFor(data: ErrorData): ErrorAction[] {
  switch (data.code) {
    case 'authenticationFailed':
    case 'permissionDenied':
      return [SIGN_IN(data.provider)];
    case 'unknownModel':
    case 'unknownProvider':
    case 'unsupported':
      return [CHOOSE_MODEL];
    case 'contextLengthExceeded':
      return [NEW_CHAT, CHOOSE_MODEL];
    case 'rateLimited':
    case 'providerUnavailable':
    case 'timeout':
    case 'network':
      return [CHOOSE_MODEL, SHOW_LOG];
    default:
      return [SHOW_LOG];
  }
}

interface RpcErrorLike {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

function isErrorData(data: unknown): data is ErrorData {
  return typeof data === 'object' && data !== null && typeof (data as ErrorData).code === 'string';
}

/** A JSON-RPC error (ResponseError) or anything thrown, as a message with its helpful actions. */
export function describeError(error: unknown): ErrorReport {
  const rpc = (typeof error === 'object' && error !== null ? error : {}) as RpcErrorLike;
  const message = typeof rpc.message === 'string' ? rpc.message : String(error);
  if (rpc.code === REQUEST_CANCELLED) {
    return { message: 'Cancelled.', actions: [], cancelled: true };
  }
  if (rpc.code === REQUEST_FAILED && isErrorData(rpc.data)) {
    const data = rpc.data;
    let text = message;
    if (data.suggestion && !text.includes(data.suggestion)) {
      text += data.code === 'unknownProvider' ? ` (did you mean "${data.suggestion}"?)` : ` — ${data.suggestion}`;
    }
    if (data.retryAfterMs) {
      text += ` (try again in ${Math.ceil(data.retryAfterMs / 1000)} s)`;
    }
    return { message: text, actions: actionsFor(data), cancelled: false };
  }
  return { message, actions: [SHOW_LOG], cancelled: false };
}

/**
 * A markdown message as a notification shows it: VS Code draws `[label](https://…)` links there
 * but no other markdown, so code spans, emphasis and headings lose their marks, and a link to
 * anything but the web keeps only its label.
 */
export function notificationText(markdown: string): string {
  return markdown
    .replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (whole, label: string, url: string) =>
      /^https?:/i.test(url) ? whole : label,
    )
    .replace(/(`+)([^`]+?)\1/g, '$2')
    .replace(/(\*\*|__)(?=\S)([^*_]+?\S)\1/g, '$2')
    .replace(/(^|[\s(])[*_](?=\S)([^*_\n]+?\S)[*_](?=[\s).,;:!?]|$)/g, '$1$2')
    .replace(/^#{1,6}\s+/gm, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
