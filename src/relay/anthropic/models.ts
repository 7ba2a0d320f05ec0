// Which upstream model answers an Anthropic request (RELAY_ANTHROPIC_MODELS="opus=gpt-5,sonnet=gpt-5,
// haiku=gpt-5-mini"): a Claude name is matched on its family word, any other name passes through.
import { ConfigError } from '../../shared/errors.js';
import { resolveModel, type ModelPolicy } from '../models.js';

export interface AnthropicModels {
  /** Family word ("sonnet") or exact name -> upstream model, in the order written. */
  families: ReadonlyMap<string, string>;
}

export function parseAnthropicModels(text: string | undefined): AnthropicModels {
  const families = new Map<string, string>();
  for (const entry of (text ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name, target, extra] = entry.split('=').map((part) => part.trim());
    if (!name || !target || extra !== undefined) {
      throw new ConfigError(`RELAY_ANTHROPIC_MODELS: cannot read "${entry}".`, {
        fix: 'Map Claude model families to upstream models, comma-separated, e.g. RELAY_ANTHROPIC_MODELS=opus=gpt-5,sonnet=gpt-5,haiku=gpt-5-mini',
      });
    }
    families.set(name.toLowerCase(), target);
  }
  return { families };
}

export type ModelChoice = { ok: true; upstream: string } | { ok: false; message: string };

const words = (name: string) => name.toLowerCase().split(/[-_.@:/ ]+/);

/**
 * The upstream model for `requested`: an exact entry, else the first family word found in the name
 * ("claude-sonnet-4-5-20250929" -> sonnet), else the name itself unless it is a Claude name.
 * RELAY_MODELS (`allowed`) then applies to the result, as to any other request.
 */
export function chooseModel(requested: string, models: AnthropicModels, allowed: ModelPolicy | undefined): ModelChoice {
  const lower = requested.toLowerCase();
  let upstream = models.families.get(lower);
  if (upstream === undefined) {
    const inName = new Set(words(lower));
    for (const [family, target] of models.families) {
      if (inName.has(family)) {
        upstream = target;
        break;
      }
    }
  }
  if (upstream === undefined && lower.startsWith('claude')) {
    const mapped = [...models.families.keys()].join(', ');
    return {
      ok: false,
      message:
        `model: ${requested.slice(0, 100)} is not mapped to an OpenAI model on this relay ` +
        `(${mapped ? `mapped: ${mapped}` : 'RELAY_ANTHROPIC_MODELS is not set'}). ` +
        'Use an OpenAI model name, or ask the operator to map it with RELAY_ANTHROPIC_MODELS.',
    };
  }
  upstream ??= requested;
  if (allowed === undefined) return { ok: true, upstream };
  const resolved = resolveModel(allowed, upstream);
  if (resolved === undefined) {
    return { ok: false, message: `model: ${upstream.slice(0, 100)} is not available on this relay. Available: ${[...allowed.names.keys()].join(', ')}.` };
  }
  return { ok: true, upstream: resolved };
}

interface UpstreamModel {
  id: string;
  created?: number;
}

/** An OpenAI model list in Anthropic's shape (GET /v1/models with an anthropic-version header). */
export function anthropicModelList(models: UpstreamModel[]): Record<string, unknown> {
  const data = models.map((model) => ({
    type: 'model',
    id: model.id,
    display_name: model.id,
    created_at: new Date((model.created ?? 0) * 1000).toISOString(),
  }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
