// Reads an OpenAI server-sent event stream as parsed JSON events, up to "[DONE]".

export async function* sseEvents(body: AsyncIterable<Buffer>): AsyncGenerator<Record<string, unknown>> {
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, end).replace(/\r$/, '');
      buffered = buffered.slice(end + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      if (data) yield JSON.parse(data) as Record<string, unknown>;
    }
  }
}
