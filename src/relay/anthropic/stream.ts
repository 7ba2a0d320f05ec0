// OpenAI chat completion chunks -> Anthropic stream events, fed one chunk at a time: each chunk's
// events are returned at once for the caller to write, nothing is held back but the stop reason and
// usage, which OpenAI sends last and Anthropic reports in message_delta.
import type { ChatChunk, OpenAIUsage } from '../chat-completion.js';
import { anthropicUsage, stopReason } from './response.js';

export interface AnthropicEvent {
  event: string;
  data: Record<string, unknown>;
}

/** One server-sent event as Anthropic writes it. */
export function formatEvent({ event, data }: AnthropicEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const PING: AnthropicEvent = { event: 'ping', data: { type: 'ping' } };

export class StreamTranslator {
  private index = -1;
  /** What the open content block holds: text, or the OpenAI index of the tool call it carries. */
  private open: { kind: 'text' } | { kind: 'tool'; call: number } | undefined;
  private finish: string | null | undefined;
  private matched: string | null = null;
  private usage: OpenAIUsage | undefined;

  /** `model`: the name the client asked for; `stopSequences`: to tell a matched one when the upstream names it. */
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly stopSequences: string[] = [],
  ) {}

  /** Sent as soon as the upstream has answered, before its first chunk. */
  start(): AnthropicEvent[] {
    return [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: this.id,
            type: 'message',
            role: 'assistant',
            model: this.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: anthropicUsage(undefined),
          },
        },
      },
    ];
  }

  push(chunk: ChatChunk): AnthropicEvent[] {
    const events: AnthropicEvent[] = [];
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return events;
    const text = choice.delta?.content || choice.delta?.refusal;
    if (text) {
      if (this.open?.kind !== 'text') this.openBlock(events, { kind: 'text' }, { type: 'text', text: '' });
      events.push(this.delta({ type: 'text_delta', text }));
    }
    for (const call of choice.delta?.tool_calls ?? []) {
      const at = call.index ?? 0;
      if (this.open?.kind !== 'tool' || this.open.call !== at) {
        this.openBlock(
          events,
          { kind: 'tool', call: at },
          { type: 'tool_use', id: call.id ?? `call_${this.id}_${at}`, name: call.function?.name ?? '', input: {} },
        );
      }
      const fragment = call.function?.arguments;
      if (fragment) events.push(this.delta({ type: 'input_json_delta', partial_json: fragment }));
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    if (typeof choice.stop_reason === 'string' && this.stopSequences.includes(choice.stop_reason)) this.matched = choice.stop_reason;
    return events;
  }

  /** After the upstream's last chunk: the open block closes, then the stop reason and usage. */
  end(): AnthropicEvent[] {
    const events: AnthropicEvent[] = [];
    this.closeBlock(events);
    const usage = anthropicUsage(this.usage);
    events.push(
      { event: 'message_delta', data: { type: 'message_delta', delta: stopReason(this.finish, this.matched), usage } },
      { event: 'message_stop', data: { type: 'message_stop' } },
    );
    return events;
  }

  private delta(delta: Record<string, unknown>): AnthropicEvent {
    return { event: 'content_block_delta', data: { type: 'content_block_delta', index: this.index, delta } };
  }

  private openBlock(events: AnthropicEvent[], open: NonNullable<StreamTranslator['open']>, block: Record<string, unknown>): void {
    this.closeBlock(events);
    this.open = open;
    this.index++;
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index: this.index, content_block: block } });
  }

  private closeBlock(events: AnthropicEvent[]): void {
    if (this.open === undefined) return;
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.index } });
    this.open = undefined;
  }
}

/** An error after the stream has started, as Anthropic sends it: an `error` event, then the end. */
export function streamError(type: string, message: string): AnthropicEvent {
  return { event: 'error', data: { type: 'error', error: { type, message } } };
}
