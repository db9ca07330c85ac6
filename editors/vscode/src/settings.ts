// The editor settings the server reads (initializationOptions and didChangeConfiguration):
// the same keys as its config file, and only those, since it reports keys it does not know.

export interface SettingsReader {
  get<T>(section: string): T | undefined;
}

export interface ServerSettings {
  defaultModel?: string;
  fastModel?: string;
  providers?: Record<string, unknown>;
  completion?: Record<string, unknown>;
}

export function serverSettings(config: SettingsReader): ServerSettings {
  const settings: ServerSettings = {};
  const defaultModel = config.get<string>('defaultModel')?.trim();
  if (defaultModel) {
    settings.defaultModel = defaultModel;
  }
  const fastModel = config.get<string>('fastModel')?.trim();
  if (fastModel) {
    settings.fastModel = fastModel;
  }
  const providers = config.get<Record<string, unknown>>('providers');
  if (providers && typeof providers === 'object' && Object.keys(providers).length > 0) {
    settings.providers = providers;
  }
  const completion = config.get<Record<string, unknown>>('completion');
  if (completion && typeof completion === 'object' && Object.keys(completion).length > 0) {
    settings.completion = completion;
  }
  return settings;
}

/** Settings that need the server started again rather than told. */
export const RESTART_SECTIONS = ['switchboard.server'];
export const SERVER_SECTIONS = [
  'switchboard.defaultModel',
  'switchboard.fastModel',
  'switchboard.providers',
  'switchboard.completion',
];
