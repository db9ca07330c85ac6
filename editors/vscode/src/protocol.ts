// The Switchboard wire shapes this extension reads and sends (camelCase JSON).
// The source of truth is the server's protocol/ package; these mirror the fields used here.

export const Methods = {
  models: 'switchboard/models',
  providers: 'switchboard/providers',
  chat: 'switchboard/chat',
  countTokens: 'switchboard/countTokens',
  usage: 'switchboard/usage',
  usageChanged: 'switchboard/usageChanged',
  signIn: 'switchboard/signIn',
  signInComplete: 'switchboard/signInComplete',
  signOut: 'switchboard/signOut',
  setApiKey: 'switchboard/setApiKey',
} as const;

export const REQUEST_CANCELLED = -32800;
export const REQUEST_FAILED = -32803;

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number | null;
  cacheCreationInputTokens?: number | null;
  reasoningTokens?: number | null;
  estimated?: boolean | null;
}

export interface Cost {
  inputUsd: number;
  outputUsd: number;
  cacheUsd?: number | null;
  totalUsd: number;
  costSource?: 'catalog' | 'provider';
}

export interface Totals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  costUsd: number;
  unpricedRequests?: number;
}

export interface ModelTotals extends Totals {
  model: string;
}

export interface UsageResult {
  session: Totals;
  byModel: ModelTotals[];
}

export interface LastRequest {
  model: string;
  usage: Usage;
  cost: Cost | null;
}

export interface UsageChanged {
  last: LastRequest;
  session: Totals;
}

export type TextPart = { type: 'text'; text: string };
export type ContentPart =
  | TextPart
  | { type: 'image'; mediaType: string; data?: string; url?: string }
  | { type: 'toolUse'; id: string; name: string; input: unknown }
  | { type: 'toolResult'; toolUseId: string; content: string | ContentPart[]; isError?: boolean }
  | { type: 'thinking'; text: string; signature?: string }
  | { type: 'redactedThinking'; data: string };

export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | ContentPart[];
}

export interface ChatParams {
  model?: string;
  messages: Message[];
  system?: string;
  maxTokens?: number;
  temperature?: number;
  partialResultToken?: string | number;
  workDoneToken?: string | number;
}

export type StopReason =
  | 'endTurn'
  | 'maxTokens'
  | 'toolUse'
  | 'stopSequence'
  | 'refusal'
  | 'contentFilter'
  | 'error';

export type ChatEvent =
  | { type: 'started'; id: string; model: string }
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string; signature?: string }
  | { type: 'redactedThinking'; data: string }
  | { type: 'toolUseStart'; id: string; name: string }
  | { type: 'toolUseDelta'; id: string; inputJson: string }
  | { type: 'toolUse'; id: string; name: string; input: unknown }
  | { type: 'toolUseJsonParseError'; id: string; name: string; rawInput: string; error: string }
  | ({ type: 'usage' } & Usage)
  | { type: 'retry'; attempt: number; delayMs: number; reason: string }
  | { type: 'stop'; reason: StopReason }
  | { type: 'error'; code: string; message: string };

export interface ChatProgress {
  events: ChatEvent[];
}

export interface ChatResult {
  id: string;
  model: string;
  content: ContentPart[];
  stopReason: StopReason;
  usage: Usage;
  cost: Cost | null;
}

export interface Pricing {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheReadPerMTok?: number | null;
  cacheWritePerMTok?: number | null;
}

export interface ModelInfo {
  id: string;
  provider: string;
  name: string;
  contextWindow: number;
  maxInputTokens?: number | null;
  maxOutputTokens?: number | null;
  capabilities?: { images?: boolean; tools?: boolean; thinking?: boolean };
  pricing: Pricing | null;
  isDefault: boolean;
  isDefaultFast: boolean;
  available: boolean;
  source: 'catalog' | 'provider' | 'fallback';
}

export type AuthMethod = 'device' | 'oauth' | 'apiKey' | 'env' | 'none';

export interface ProviderInfo {
  id: string;
  name: string;
  baseUrl: string;
  auth: {
    methods: AuthMethod[];
    status: 'signedIn' | 'signedOut' | 'expired';
    account?: string | null;
    source?: string | null;
  };
}

export interface SignInResult {
  status: 'signedIn' | 'signedOut' | 'pending' | 'failed' | 'expired';
  message?: string | null;
  account?: string | null;
  flowId?: string | null;
  userCode?: string | null;
  verificationUri?: string | null;
  authUrl?: string | null;
  expiresIn?: number | null;
}

export interface SetApiKeyResult {
  status: 'signedIn' | 'failed';
  verified?: boolean | null;
  message?: string | null;
}

export interface ErrorData {
  code: string;
  provider?: string | null;
  status?: number | null;
  retryAfterMs?: number | null;
  suggestion?: string | null;
  supported?: string[] | null;
}

export interface CountTokensParams {
  model?: string;
  messages?: Message[];
  system?: string;
  text?: string;
}

export interface CountTokensResult {
  inputTokens: number;
  exact: boolean;
  method: string;
  costUsd?: number | null;
  maxCostUsd?: number | null;
}
