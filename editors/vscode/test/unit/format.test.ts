import { describe, expect, it } from 'vitest';
import {
  draftSummary,
  EMPTY_TOTALS,
  formatSessionCost,
  formatTokens,
  formatUsd,
  modelDescription,
  modelDetail,
  requestSummary,
  statusText,
  streamingStatusText,
  usageReport,
  usageTooltip,
} from '../../src/format';
import type { ModelInfo, Totals } from '../../src/protocol';

const session = (overrides: Partial<Totals>): Totals => ({ ...EMPTY_TOTALS, ...overrides });

describe('formatTokens', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1k'],
    [1049, '1k'],
    [1050, '1.1k'],
    [12_400, '12.4k'],
    [99_949, '99.9k'],
    [99_950, '100k'],
    [123_456, '123k'],
    [999_949, '1000k'],
    [999_950, '1M'],
    [1_250_000, '1.3M'],
    [250_000_000, '250M'],
  ])('%d -> %s', (count, text) => {
    expect(formatTokens(count)).toBe(text);
  });
});

describe('formatUsd', () => {
  it.each([
    [0, '$0.00'],
    [0.00004, '<$0.0001'],
    [0.002736, '$0.0027'],
    [0.031, '$0.031'],
    [0.0314, '$0.031'],
    [1.2, '$1.20'],
    [14.5, '$14.50'],
    [120.4, '$120'],
  ])('%d -> %s', (amount, text) => {
    expect(formatUsd(amount)).toBe(text);
  });
});

describe('status text', () => {
  it('shows the session tokens (input + output) and dollars', () => {
    const totals = session({ requests: 3, inputTokens: 10_000, outputTokens: 2_400, costUsd: 0.031 });
    expect(statusText(totals)).toBe('$(sparkle) 12.4k tok · $0.031');
  });

  it('starts at zero', () => {
    expect(statusText(EMPTY_TOTALS)).toBe('$(sparkle) 0 tok · $0.00');
  });

  it('marks a total that leaves unpriced requests out, and never shows $0 for unpriced only', () => {
    expect(formatSessionCost(session({ requests: 2, costUsd: 0.5, unpricedRequests: 1 }))).toBe('$0.500+');
    expect(formatSessionCost(session({ requests: 2, costUsd: 0, unpricedRequests: 2 }))).toBe('no price');
  });

  it('shows a spinner and the streamed tokens so far', () => {
    expect(streamingStatusText(0)).toBe('$(loading~spin) 1 tok…');
    expect(streamingStatusText(4000)).toBe('$(loading~spin) 1k tok…');
  });
});

describe('requestSummary', () => {
  it('names the cached part and the price', () => {
    const usage = { inputTokens: 1500, outputTokens: 9, cacheReadInputTokens: 1200 };
    expect(requestSummary(usage, { inputUsd: 0, outputUsd: 0, totalUsd: 0.0042 })).toBe(
      '1.5k in (1.2k cached) · 9 out · $0.0042',
    );
  });

  it('says when the price is unknown or the count estimated', () => {
    expect(requestSummary({ inputTokens: 5, outputTokens: 6, estimated: true }, null)).toBe(
      '5 in · 6 out (estimated) · price unknown',
    );
  });
});

describe('usageTooltip', () => {
  const byModel = [
    { ...EMPTY_TOTALS, model: 'anthropic/claude-sonnet-4-5', requests: 1, inputTokens: 900, outputTokens: 100, costUsd: 0.0042 },
    { ...EMPTY_TOTALS, model: 'openai/gpt-4o', requests: 2, inputTokens: 2000, outputTokens: 300, costUsd: 0.008 },
  ];
  const total = session({ requests: 3, inputTokens: 2900, outputTokens: 400, costUsd: 0.0122 });
  const last = {
    model: 'openai/gpt-4o',
    usage: { inputTokens: 1000, outputTokens: 150 },
    cost: { inputUsd: 0.0025, outputUsd: 0.0015, totalUsd: 0.004 },
  };

  it('has a row per model, a total row, and the last request', () => {
    const text = usageTooltip(total, byModel, last, 'openai/gpt-4o');
    const lines = text.split('\n');
    expect(lines).toContain('| anthropic/claude\\-sonnet\\-4\\-5 | 1 | 900 | 100 | $0.0042 |');
    expect(lines).toContain('| openai/gpt\\-4o | 2 | 2k | 300 | $0.0080 |');
    expect(lines).toContain('| **total** | 3 | 2.9k | 400 | $0.012 |');
    expect(text).toContain('Last: openai/gpt\\-4o — 1k in · 150 out · $0.0040');
    expect(text).toContain('Chat model: openai/gpt\\-4o');
  });

  it('leaves the total row out for one model and says when nothing ran', () => {
    expect(usageTooltip(total, byModel.slice(1), undefined, undefined)).not.toContain('**total**');
    expect(usageTooltip(EMPTY_TOTALS, [], undefined, undefined)).toContain('No requests yet.');
  });
});

describe('models', () => {
  const model: ModelInfo = {
    id: 'anthropic/claude-sonnet-4-5',
    provider: 'anthropic',
    name: 'Claude Sonnet 4.5',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: { inputPerMTok: 3, outputPerMTok: 15 },
    capabilities: { thinking: true, images: true },
    isDefault: true,
    isDefaultFast: false,
    available: false,
    source: 'catalog',
  };

  it('describes limits and price', () => {
    expect(modelDescription(model)).toBe('200k context · 64k out · $3 / $15 per MTok');
    expect(modelDescription({ ...model, maxOutputTokens: null, pricing: null })).toBe('200k context · price unknown');
  });

  it('says whether it can be used', () => {
    expect(modelDetail(model)).toBe('$(circle-slash) no credentials: sign in first · default · thinking · images');
    expect(modelDetail({ ...model, available: true, isDefault: false, capabilities: {} })).toBe(
      '$(pass) credentials found',
    );
  });
});

describe('usageReport', () => {
  it('lists every model and the unpriced requests', () => {
    const report = usageReport(session({ requests: 2, inputTokens: 10, outputTokens: 4, unpricedRequests: 1 }), [
      { ...EMPTY_TOTALS, model: 'copilot/gpt-4o', requests: 1, inputTokens: 10, outputTokens: 4, unpricedRequests: 1 },
    ]);
    expect(report).toContain('| copilot/gpt-4o | 1 | 10 | 0 | 0 | 4 | no price |');
    expect(report).toContain('1 request(s) had no known price');
  });
});

describe('draftSummary', () => {
  it('says the tokens and the cost of the next request before it is sent', () => {
    expect(draftSummary({ inputTokens: 1234, exact: true, costUsd: 0.0031 })).toBe('1.2k tok · $0.0031');
    expect(draftSummary({ inputTokens: 40, exact: false, costUsd: null })).toBe('≈40 tok · unpriced');
  });
});
