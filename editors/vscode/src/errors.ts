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

const SIGN_IN = (provider?: string | null): ErrorAction => ({
  title: 'Sign In…',
  command: 'switchboard.signIn',
  args: provider ? [provider] : [],
});
const SET_KEY = (provider?: string | null): ErrorAction => ({
  title: 'Set API Key…',
  command: 'switchboard.setApiKey',
  args: provider ? [provider] : [],
});
const CHOOSE_MODEL: ErrorAction = { title: 'Choose Model', command: 'switchboard.chooseModel' };
const SHOW_LOG: ErrorAction = { title: 'Show Server Log', command: 'switchboard.showServerLog' };
const NEW_CHAT: ErrorAction = { title: 'New Chat', command: 'switchboard.newChat' };

export function actionsFor(data: ErrorData): ErrorAction[] {
  switch (data.code) {
    case 'authenticationFailed':
    case 'permissionDenied':
      return [SIGN_IN(data.provider), SET_KEY(data.provider)];
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
