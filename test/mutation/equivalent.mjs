// Surviving mutants judged equivalent: they change no behaviour a caller can see. Key: the file,
// line:column and mutator Stryker reports; value: why, in a line. A code change that moves one
// makes it show as a plain survivor again, to be judged anew.

// Reasons shared by several survivors.
const TEMP_EXISTS = 'the temp file always exists here (created with wx just above), so rm without force removes it the same';
const SYNC_FLUSH =
  "without sync flush a cut body ends in an end-of-file error after its decoded start, which decode() keeps; sync flush is zlib's documented way not to depend on that";
const FULL_CAPPED_BODY = 'past the cap, subarray(0, 0) adds an empty copy: the same bytes (the return only spares holding one empty Buffer per chunk)';

export const EQUIVALENT = {
  'src/relay/ollama/translate.ts:98:61 ConditionalExpression':
    'without a tool name findIndex finds nothing, and Math.max(0, -1) answers the oldest call all the same',
  'src/relay/chat-completion.ts:41:7 ConditionalExpression': "JSON.parse('') and JSON.parse(undefined) throw, and the catch returns the same {}",
  'src/relay/anthropic/response.ts:51:115 ArrayDeclaration':
    'a default stop list of one made-up sequence only matters if the upstream names that exact sequence',
  'src/relay/anthropic/stream.ts:31:48 ArrayDeclaration': 'a default stop list of one made-up sequence only matters if the upstream names that exact sequence',
  'src/relay/anthropic/stream.ts:79:9 ConditionalExpression': 'includes() of a non-string in a list of strings is false anyway (the typeof half set to true)',
  'src/plan/render-plan.ts:39:52 ArrayDeclaration': 'a default hidden name with spaces can never match a NAME= line ([A-Z0-9_]+)',
  'src/plan/render-plan.ts:42:39 Regex → /^([A-Z0-9_]+)=.*/gm': "without $ the greedy .* still runs to the line's end (. never crosses a newline)",
  'src/plan/render-plan.ts:42:39 Regex → /([A-Z0-9_]+)=.*$/gm':
    "every line of the .env the plan writes starts with its NAME (renderDeployEnv, names from a fixed list) or is the '#' header, " +
    'which holds no =: the first NAME= is at the line start with or without ^',
  'src/relay/anthropic/request.ts:135:33 ConditionalExpression': "a non-text block has no text field, and join() writes undefined as ''",
  'src/plan/deploy-plan.ts:195:81 StringLiteral': "a default mode of '' takes the same branches as 'http' (only 'https' and 'tls-pending' are tested for)",
  'src/plan/deploy-plan.ts:123:144 StringLiteral': 'the deploy-hash placeholder only has to be the same on every deploy, whatever its text',
  'src/relay/cors.ts:51:13 BlockStatement': 'url is still undefined when new URL() throws before assigning it',
  'src/relay/cors.ts:84:43 StringLiteral': "the stand-in header list 'stryker was here!' fails the field-name pattern, so nothing is added",
  'src/plan/preflight.ts:145:46 Regex': 'rules are filtered to lines starting "-A INPUT ", so "-A INPUT -j" can only match at the start anyway',
  'src/relay/access/limiter.ts:74:11 ConditionalExpression': 'active >= undefined is false: no concurrency limit, no refusal for it',
  'src/relay/auth.ts:10:61 StringLiteral': "the pattern matches neither '' nor 'Stryker was here!', so a missing header still holds no token",
  'src/relay/headers.ts:64:34 StringLiteral':
    "without a Connection header the list holds the made-up name 'stryker was here!', which no header can have (spaces and ! are not allowed in names)",
  'src/shared/env-local.ts:39:14 UnaryOperator': "last starts at +1 instead of -1 only when no line assigns the key, and then it is never read",
  'src/shared/env-local.ts:80:33 ConditionalExpression': "undefined & 0o077 is 0, so a file that did not exist still reads as not readable by others",
  'src/shared/env-local.ts:88:9 ConditionalExpression': "any other realpath error (ENOTDIR, ELOOP) recurs with the same code at the readFile that follows",
  'src/plan/operate.ts:112:7 ConditionalExpression': "the count pattern does not match 'undefined' either, so a missing count is still left out",
  'src/relay/dump.ts:25:19 ConditionalExpression': 'Buffer.from of a Buffer is a copy of it: the same bytes, one copy more',
  'src/relay/dump.ts:27:9 ConditionalExpression': FULL_CAPPED_BODY,
  'src/relay/dump.ts:27:9 EqualityOperator': FULL_CAPPED_BODY,
  'src/relay/dump.ts:64:59 StringLiteral': 'URL.parse of the stand-in text is null as well: no Redis URL, no credentials',
  'src/relay/dump.ts:200:41 ConditionalExpression': 'a JSON null comes back as null instead of undefined, and both callers fall back to the text with ??',
  'src/relay/dump.ts:201:11 BlockStatement': 'the function returns undefined with or without the return in its catch',
  'src/relay/dump.ts:220:28 ObjectLiteral': SYNC_FLUSH,
  'src/relay/dump.ts:221:32 ObjectLiteral': SYNC_FLUSH,
  'src/relay/dump.ts:222:32 ObjectLiteral': SYNC_FLUSH,
  'src/relay/dump.ts:223:36 ObjectLiteral': SYNC_FLUSH,
  'src/relay/dump.ts:235:11 ConditionalExpression':
    'only work: without the break the rest is decoded and counted too, and what is shown and the cut flag are the same',
  'src/relay/redact.ts:69:7 ConditionalExpression': 'the pre-check only skips the shape passes for a string in which none of them can match',
  'src/shared/env-local.ts:77:20 ObjectLiteral': TEMP_EXISTS,
  'src/shared/env-local.ts:77:29 BooleanLiteral': TEMP_EXISTS,
};
