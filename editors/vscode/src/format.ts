// Text the extension shows: token counts, dollars, the status bar and its tooltip, model details.
// Pure functions (no vscode import) so they are unit tested.
import type { Cost, CountTokensResult, LastRequest, ModelInfo, ModelTotals, Totals, Usage } from './protocol';

export function formatTokens(count: number): string {
  if (count < 1000) {
    return String(Math.max(0, Math.round(count)));
  }
  if (count < 999_950) {
    return `${trimZero((count / 1000).toFixed(count < 99_950 ? 1 : 0))}k`;
  }
  return `${trimZero((count / 1_000_000).toFixed(count < 99_950_000 ? 1 : 0))}M`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/** Dollars with the precision a reader needs: $0.0027, $0.031, $1.20, $14.50, $120. */
export function formatUsd(amount: number): string {
  if (amount === 0) {
    return '$0.00';
  }
  if (amount < 0.0001) {
    return '<$0.0001';
  }
  if (amount < 0.01) {
    return `$${amount.toFixed(4)}`;
  }
  if (amount < 1) {
    return `$${amount.toFixed(3)}`;
  }
  if (amount < 100) {
    return `$${amount.toFixed(2)}`;
  }
  return `$${Math.round(amount)}`;
}

/** The session's dollars; a total that leaves out unpriced requests says so with a "+". */
export function formatSessionCost(totals: Totals): string {
  const unpriced = totals.unpricedRequests ?? 0;
  if (unpriced > 0 && unpriced >= totals.requests) {
    return 'no price';
  }
  return formatUsd(totals.costUsd) + (unpriced > 0 ? '+' : '');
}

export function totalTokens(usage: Pick<Usage, 'inputTokens' | 'outputTokens'>): number {
  return usage.inputTokens + usage.outputTokens;
}

export const EMPTY_TOTALS: Totals = {
  requests: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadInputTokens: 0,
  cacheCreationInputTokens: 0,
  costUsd: 0,
  unpricedRequests: 0,
};

export function statusText(session: Totals): string {
  return `$(sparkle) ${formatTokens(totalTokens(session))} tok · ${formatSessionCost(session)}`;
}

/** While an answer streams: a spinner and the tokens received so far (about 4 characters each). */
export function streamingStatusText(outputChars: number): string {
  return `$(loading~spin) ${formatTokens(Math.max(1, Math.round(outputChars / 4)))} tok…`;
}

export function costText(cost: Cost | null | undefined): string {
  return cost ? formatUsd(cost.totalUsd) : 'price unknown';
}

/** "21 in · 9 out (4 cached) · $0.0001" */
export function requestSummary(usage: Usage, cost: Cost | null | undefined): string {
  const cached = usage.cacheReadInputTokens ? ` (${formatTokens(usage.cacheReadInputTokens)} cached)` : '';
  const estimated = usage.estimated ? ' (estimated)' : '';
  return (
    `${formatTokens(usage.inputTokens)} in${cached} · ${formatTokens(usage.outputTokens)} out${estimated}` +
    ` · ${costText(cost)}`
  );
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

function totalsRow(label: string, totals: Totals): string {
  return (
    `| ${label} | ${totals.requests} | ${formatTokens(totals.inputTokens)} | ` +
    `${formatTokens(totals.outputTokens)} | ${formatSessionCost(totals)} |`
  );
}

/** The status bar tooltip (markdown): session totals per model, then the last request. */
export function usageTooltip(
  session: Totals,
  byModel: readonly ModelTotals[],
  last: LastRequest | undefined,
  model: string | undefined,
): string {
  const lines = ['**Switchboard** — this session', ''];
  if (session.requests === 0) {
    lines.push('No requests yet.');
  } else {
    lines.push('| model | requests | in | out | cost |', '|---|---:|---:|---:|---:|');
    for (const totals of byModel) {
      lines.push(totalsRow(escapeMarkdown(totals.model), totals));
    }
    if (byModel.length !== 1) {
      lines.push(totalsRow('**total**', session));
    }
  }
  if (last) {
    lines.push('', `Last: ${escapeMarkdown(last.model)} — ${requestSummary(last.usage, last.cost)}`);
  }
  if (model) {
    lines.push('', `Chat model: ${escapeMarkdown(model)}`);
  }
  lines.push('', 'Click to choose a model.');
  return lines.join('\n');
}

/** "200k context · 64k out · $3 / $15 per MTok" */
export function modelDescription(model: ModelInfo): string {
  const parts = [`${formatTokens(model.contextWindow)} context`];
  if (model.maxOutputTokens) {
    parts.push(`${formatTokens(model.maxOutputTokens)} out`);
  }
  parts.push(
    model.pricing
      ? `$${priceNumber(model.pricing.inputPerMTok)} / $${priceNumber(model.pricing.outputPerMTok)} per MTok`
      : 'price unknown',
  );
  return parts.join(' · ');
}

function priceNumber(perMTok: number): string {
  return String(Number(perMTok.toFixed(4)));
}

export function modelDetail(model: ModelInfo): string {
  const flags = [model.available ? '$(pass) credentials found' : '$(circle-slash) no credentials: sign in first'];
  if (model.isDefault) {
    flags.push('default');
  }
  if (model.isDefaultFast) {
    flags.push('default fast');
  }
  if (model.capabilities?.thinking) {
    flags.push('thinking');
  }
  if (model.capabilities?.images) {
    flags.push('images');
  }
  return flags.join(' · ');
}

/** Per-model totals as a markdown document (Show Usage). */
export function usageReport(session: Totals, byModel: readonly ModelTotals[]): string {
  const lines = ['# Switchboard usage (this session)', ''];
  lines.push('| model | requests | input | cache read | cache write | output | cost |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  const row = (label: string, t: Totals): string =>
    `| ${label} | ${t.requests} | ${t.inputTokens} | ${t.cacheReadInputTokens} | ` +
    `${t.cacheCreationInputTokens} | ${t.outputTokens} | ${formatSessionCost(t)} |`;
  for (const totals of byModel) {
    lines.push(row(totals.model, totals));
  }
  lines.push(row('**total**', session));
  const unpriced = session.unpricedRequests ?? 0;
  if (unpriced > 0) {
    lines.push('', `${unpriced} request(s) had no known price and are not in the cost.`);
  }
  return lines.join('\n') + '\n';
}

/** What the composer says the next request will send: its tokens and what they cost, before sending. */
export function draftSummary(count: Pick<CountTokensResult, 'inputTokens' | 'exact' | 'costUsd'>): string {
  const tokens = `${count.exact ? '' : '≈'}${formatTokens(count.inputTokens)} tok`;
  const cost = count.costUsd === null || count.costUsd === undefined ? 'unpriced' : formatUsd(count.costUsd);
  return `${tokens} · ${cost}`;
}
