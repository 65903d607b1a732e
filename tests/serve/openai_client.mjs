// Drives `unicorn serve-lite` with the official `openai` npm client, unchanged, as an application would.
// usage: node openai_client.mjs BASE_URL API_KEY MODEL_ID EXPECTED_GREEDY_JSON
//   EXPECTED_GREEDY_JSON: {"prompt": "...", "n": N, "text": "..."} from `unicorn run --json --temp 0` on the same
//   model, so the server's greedy completion is checked against the CLI's generator token for token.
import fs from 'node:fs';
import OpenAI from 'openai';

const [baseURL, apiKey, modelId, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(fs.readFileSync(expectedPath, 'utf8'));
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
let failures = 0;
function check(cond, what, detail = '') {
  if (cond) console.log(`ok: ${what}`);
  else { console.log(`FAIL: ${what} ${detail}`); failures++; }
}
function checkUsage(u, what) {
  check(u && Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0 && Number.isInteger(u.completion_tokens) &&
        u.completion_tokens > 0 && u.total_tokens === u.prompt_tokens + u.completion_tokens,
        `${what}: usage is consistent`, JSON.stringify(u));
}

// Models list.
const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === modelId && models.data[0].object === 'model',
      'models.list() names the served model', JSON.stringify(models.data));

// Completions, greedy: the same text as `unicorn run --temp 0` (same tokenizer, prompt and generator steps).
const comp = await client.completions.create({ model: modelId, prompt: expected.prompt, max_tokens: expected.n,
                                               temperature: 0 });
check(comp.object === 'text_completion' && comp.choices.length === 1, 'completions.create() answers one choice');
check(comp.choices[0].text === expected.text, 'greedy completion equals `unicorn run --temp 0`',
      `\n  server: ${JSON.stringify(comp.choices[0].text)}\n  cli:    ${JSON.stringify(expected.text)}`);
check(comp.choices[0].finish_reason === 'length' && comp.usage.completion_tokens === expected.n,
      `completion stops at max_tokens=${expected.n} with finish_reason "length"`,
      JSON.stringify([comp.choices[0].finish_reason, comp.usage]));
checkUsage(comp.usage, 'completions');
const letters = (expected.text.match(/[A-Za-z]/g) || []).length;
check(letters > 0.5 * expected.text.replace(/\s/g, '').length, 'the completion is readable text', expected.text);

// Streaming completion: the pieces add up to the same text.
let streamed = '';
let compFinish = null;
for await (const chunk of await client.completions.create({ model: modelId, prompt: expected.prompt,
                                                            max_tokens: expected.n, temperature: 0, stream: true })) {
  streamed += chunk.choices[0]?.text ?? '';
  if (chunk.choices[0]?.finish_reason) compFinish = chunk.choices[0].finish_reason;
}
check(streamed === expected.text && compFinish === 'length', 'streamed completion equals the non-streamed one',
      JSON.stringify([streamed, compFinish]));

// Chat, non-streaming, greedy.
const messages = [{ role: 'system', content: 'You are a player in a Shakespeare play.' },
                  { role: 'user', content: 'ROMEO: What light through yonder window breaks?' }];
const chat = await client.chat.completions.create({ model: modelId, messages, max_tokens: 24, temperature: 0 });
const msg = chat.choices[0].message;
check(chat.object === 'chat.completion' && msg.role === 'assistant' && typeof msg.content === 'string' &&
      msg.content.length > 0, 'chat.completions.create() answers an assistant message', JSON.stringify(chat.choices));
check(['stop', 'length'].includes(chat.choices[0].finish_reason), 'chat finish_reason is stop or length');
if (chat.choices[0].finish_reason === 'length') check(chat.usage.completion_tokens === 24, 'length means 24 tokens');
checkUsage(chat.usage, 'chat');

// Chat, streaming with include_usage: same text, finish_reason in the last choice chunk, usage in the final chunk.
let text = '';
let role = null;
let finish = null;
let usage = null;
let chunks = 0;
const stream = await client.chat.completions.create({ model: modelId, messages, max_tokens: 24, temperature: 0,
                                                      stream: true, stream_options: { include_usage: true } });
for await (const chunk of stream) {
  chunks++;
  if (chunk.object !== 'chat.completion.chunk') check(false, `chunk ${chunks} is a chat.completion.chunk`, chunk.object);
  if (chunk.usage) { usage = chunk.usage; check(chunk.choices.length === 0, 'the usage chunk has no choices'); }
  const c = chunk.choices[0];
  if (!c) continue;
  if (c.delta?.role) role = c.delta.role;
  text += c.delta?.content ?? '';
  if (c.finish_reason) finish = c.finish_reason;
}
check(chunks > 2, `the chat streamed in ${chunks} chunks`);
check(role === 'assistant', 'the stream starts with the assistant role');
check(text === msg.content, 'streamed chat text equals the non-streamed text',
      `\n  stream: ${JSON.stringify(text)}\n  once:   ${JSON.stringify(msg.content)}`);
check(finish === chat.choices[0].finish_reason, 'streamed finish_reason equals the non-streamed one');
check(usage && usage.completion_tokens === chat.usage.completion_tokens && usage.prompt_tokens === chat.usage.prompt_tokens,
      'the final chunk carries the same usage', JSON.stringify([usage, chat.usage]));

// Stop sequence: cut where it first appears, finish_reason "stop".
const full = expected.text;
const rel = full.slice(3).search(/[a-z]{2}/);
const stopAt = rel >= 0 ? rel + 3 : -1;
if (stopAt > 0) {
  const stop = full.slice(stopAt, stopAt + 2);
  const cut = full.slice(0, full.indexOf(stop));
  const stopped = await client.completions.create({ model: modelId, prompt: expected.prompt, max_tokens: expected.n,
                                                   temperature: 0, stop: [stop] });
  check(stopped.choices[0].text === cut && stopped.choices[0].finish_reason === 'stop',
        `stop ${JSON.stringify(stop)} cuts the text there with finish_reason "stop"`,
        JSON.stringify([stopped.choices[0].text, cut, stopped.choices[0].finish_reason]));
}

// Sampling with a seed is repeatable; another seed gives another text.
const sampled = async (seed) => (await client.completions.create({ model: modelId, prompt: expected.prompt,
  max_tokens: 24, temperature: 1.0, top_p: 0.95, seed })).choices[0].text;
const [s1, s1b, s2] = [await sampled(7), await sampled(7), await sampled(8)];
check(s1 === s1b, 'same seed, same sampled text');
check(s1 !== s2, 'another seed, another sampled text', JSON.stringify([s1, s2]));

// Error cases come back as the client's typed errors with OpenAI's fields.
try {
  await client.chat.completions.create({ model: modelId, messages, n: 2 });
  check(false, 'n=2 is refused');
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'n' &&
        e.type === 'invalid_request_error', 'n=2 -> BadRequestError 400 with param "n"', String(e));
}
try {
  await client.chat.completions.create({ model: modelId, messages: [{ role: 'user', content: 'x '.repeat(2000) }] });
  check(false, 'an over-long prompt is refused');
} catch (e) {
  check(e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded',
        'over-long prompt -> 400 context_length_exceeded', String(e));
}
try {
  const wrong = new OpenAI({ baseURL, apiKey: apiKey + 'x', maxRetries: 0 });
  await wrong.models.list();
  check(false, 'a wrong API key is refused');
} catch (e) {
  check(e instanceof OpenAI.AuthenticationError && e.status === 401, 'wrong key -> AuthenticationError 401', String(e));
}

console.log(failures === 0 ? 'all openai client checks passed' : `${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
