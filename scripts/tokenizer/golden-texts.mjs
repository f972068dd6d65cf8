// Hand-written parity texts and a seeded fuzz generator for make-golden.mjs. Written for this project.

const numbers = [];
for (let len = 1; len <= 24; len++) numbers.push('1234567890'.repeat(3).slice(0, len), '9'.repeat(len));
numbers.push('3.14159265358979', '-42', '+1 (555) 010-9999', '1,234,567.89', '0x1F600', '1e-10', '٠١٢٣٤٥٦٧٨٩', '१२३४५', '१२३४', '½ ¼ ¾', 'Ⅻ ⅻ', '²³¹', '①②③④', '2026-11-22T04:30:55Z', '12:30:45.123', 'v10.0.401', '99%', '$1,000,000.00', '€12,50', '#1234abcd');

export const handWrittenTexts = [
  '',
  ' ',
  '  ',
  'a',
  'Hello, world!',
  'hello world',
  '  leading spaces',
  'trailing spaces   ',
  'trailing tab\t',
  'tabs\tbetween\t\twords',
  'line1\nline2\n\nline3\n',
  'windows\r\nline\r\nendings\r\n',
  'old mac\rline\rendings\r',
  'mixed \r\n\t \n  \r  \t\n\n\r\r\n   end',
  ' \n \n \n',
  '\n\n\n\n',
  '\t\t\t',
  '   \t   x',
  'x   \n   y',
  'a \u00a0 b\u3000c\u2003d\u2028e\u2029f\u0085g\u000bh\u000ci',
  'words\u00a0\u00a0\u00a0',
  "I'm sure you'll see they've done it, it's what we'd do and we're here.",
  "I'M SURE YOU'LL SEE THEY'VE DONE IT, IT'S WHAT WE'D DO AND WE'RE HERE.",
  "DON'T Don't don't dOn'T",
  "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
  "O'Neil's dog's bone isn't John's",
  "it'ſ long s, KELVIN'K, 'ſ",
  "don'ſt IT'ſA a'ſb 'ſs we'ſſ x 'ſabc she'ſ there",
  "don'ſt", "IT'ſA", "a'ſb", "'ſs", "we'ſſ", " 'ſabc", "1'ſ", "'ſ'ſ'ſ", "abc'Ll", "ABC'lL", "x're'", "x'rE", "x'r", "x'ſ",
  "rock'n'roll ''quoted'' '''",
  'The quick brown fox jumps over the lazy dog.',
  'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.',
  'CamelCaseIdentifiersAndHTTPServerURLParser',
  'snake_case_identifier and SCREAMING_SNAKE_CASE',
  'ǅungla ǈubljana ǋ titlecase letters',
  '你好，世界！这是一个测试。',
  '日本語のテキスト、カタカナとひらがな。漢字も。',
  'ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３',
  '한국어 텍스트입니다. 안녕하세요!',
  'مرحبا بالعالم! هذا نص عربي.',
  'שלום עולם',
  'नमस्ते दुनिया। यह हिंदी पाठ है।',
  'ক্ষ্মী বাংলা',
  'தமிழ் உரை',
  'ภาษาไทยไม่มีช่องว่าง',
  'Привет, мир! Это тест. ПРИВЕТ',
  'Γειά σου Κόσμε! ΑΒΓΔ αβγδ',
  'Ἀθῆναι ᾍδης',
  'Ünïcödé àccénts çà et là, Straße, ÆØÅ æøå',
  'e\u0301 a\u0300 o\u0308 n\u0303 combining',
  'A\u0301BC\u0301 UPPER\u0301 lower\u0301',
  '\u0301\u0301\u0301 leading marks',
  ' \u0301 space then mark',
  'z\u0351\u0352\u0353\u0354\u0355\u0356 zalgo\u0336\u0336',
  '👍 👍🏻 👍🏿 emoji with skin tones',
  '👨‍👩‍👧‍👦 family, 🏳️‍🌈 rainbow flag, 👩🏽‍💻 technologist',
  '🇺🇸🇬🇧🇯🇵🇩🇪 flags',
  '😀😃😄😁😆😅🤣😂🙂🙃',
  '❤️ ☺️ ✔️ variation selectors',
  '𝕳𝖊𝖑𝖑𝖔 𝓦𝓸𝓻𝓵𝓭 mathematical letters',
  '𠜎𠜱𠝹𠱓 supplementary CJK',
  'function add(a, b) {\n    return a + b;\n}\n',
  'public static int Main(string[] args)\r\n{\r\n\tConsole.WriteLine("Hi");\r\n\treturn 0;\r\n}\r\n',
  'def f(x):\n\tif x:\n\t\treturn x ** 2\n\treturn None  # comment\n',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%o\';',
  '<html><body class="main"><p>Hi &amp; bye</p></body></html>',
  '{"id": 123, "name": "Alice", "tags": ["a", "b"], "nested": {"x": null, "y": true, "z": 1.5e10}}',
  '[{"role":"user","content":"hello"},{"role":"assistant","content":"hi"}]',
  'https://example.com/path/to/page?query=1&other=two#fragment',
  'http://user:pass@host.example.org:8080/a/b/c/',
  'mailto:someone@example.com and C:\\Users\\Name\\file.txt',
  '/usr/local/bin//path///with////slashes\n/root/\n',
  '!!!???...,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@',
  '... --- ... \n---\n***\n',
  '(parentheses) [brackets] {braces} <angles>',
  '"double" \'single\' `backtick` «guillemets» „German“ “curly” ‘quotes’',
  '<|endoftext|>',
  'Text before <|endoftext|> and after <|endofprompt|>',
  '<|fim_prefix|>a<|fim_middle|>b<|fim_suffix|>c',
  '<|im_start|>user\nhi<|im_end|>',
  'a'.repeat(100),
  'a'.repeat(1000),
  'A'.repeat(777),
  ' '.repeat(500),
  ' '.repeat(500) + 'x',
  '\n'.repeat(300),
  '\r\n'.repeat(200),
  '!'.repeat(1000),
  '='.repeat(80) + '\n' + '-'.repeat(80),
  '1'.repeat(1001),
  '😀'.repeat(200),
  '中'.repeat(500),
  'ab'.repeat(600),
  'lorem ipsum dolor sit amet '.repeat(40),
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  'Mixed123Numbers456And789Letters0',
  'x1y22z333w4444',
  'price:$5.99/kg — that’s cheap… isn’t it?',
  'Em—dash and en–dash and ellipsis…',
  '©®™ §¶ †‡ •◦ ←→↑↓ ∀∃∈∉ ≤≥≠≈ ∞',
  '\u0000\u0001\u0002 control chars \u001b[31mred\u001b[0m',
  '\u200b\u200c\u200d zero width \ufeff BOM',
  'soft\u00adhyphen',
  ' ?!', ' !\n', ' !/\n/', '!\r\n\r\n', 'a/\nb', '.\n\n', ' .\r/',
  '\t!x', '\n!x', ' \tx', '\u3000x', '\u0301x', '.x', 'Ab', 'aB', 'ABc', 'abC',
  'ʰʲʷ modifier letters ʰa aʰ',
  'ⅠⅡⅢ letter numbers',
  ...numbers,
];

export const loneSurrogateTexts = [
  '\ud800',
  'abc\ud800def',
  '\udfff leading low surrogate',
  'high at end \ud83d',
  'pair ok 😀 then lone \ude00 x',
  '\ud800\ud800 two highs',
];

// Deterministic pseudo-random texts from a palette of characters that sit on the pre-tokenizer's class borders.
export function fuzzTexts(count = 1200) {
  const palette = [
    'a', 'b', 'z', 'A', 'Z', 's', 'S', 't', 'T', 'r', 'e', 'v', 'm', 'l', 'd', 'D', 'L', 'ſ', 'K',
    "'", "'", '’', ' ', ' ', ' ', ' ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u3000', '\u000b', '\u0085',
    '0', '1', '9', '٣', '½', 'Ⅻ', '.', ',', '!', '/', '-', '_', '(', '"', '#', '$', '€', '@',
    '\u0301', '\u0308', 'ʰ', 'ǅ', '中', 'か', 'カ', '한', 'ا', 'न', '\u093f', 'ж', 'Ж', 'Ω', 'ω',
    '😀', '👍🏽', '‍', '🇺', '𝕳', '𝖊', '\u200b', '\u0000', '~', '<|endoftext|>',
  ];
  let seed = 20261122;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const texts = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(next() * (i % 2 === 0 ? 8 : 40));
    let text = '';
    for (let j = 0; j < length; j++) text += palette[Math.floor(next() * palette.length)];
    texts.push(text);
  }
  return texts;
}

export const chats = [
  [{ role: 'user', content: 'Hello!' }],
  [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '4' }],
  [{ role: 'user', content: 'Hi', name: 'Alice' }, { role: 'assistant', content: 'Hey Alice!', name: 'Bob_2' }],
  [{ role: 'system', content: '' }, { role: 'tool', content: '{"result": [1, 2, 3]}', name: 'lookup_tool' }],
  [{ role: 'user', content: '你好 <|endoftext|> 👨‍👩‍👧‍👦\r\n  ', name: 'example_user' }],
];
