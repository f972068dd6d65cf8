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

// Seeded chat turns in the style of a long conversation between two friends (casual English, contractions,
// exclamations, questions, dates, times, money, scores, emoji, "[shares a photo: ...]" captions), written for this
// project. The suite checks the tokenizer on these instead of a third-party data set that must not be shipped.
export function conversationTurns(count = 2760) {
  let seed = 20261205;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = items => items[Math.floor(next() * items.length)];
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const chance = p => next() < p;

  const names = ['Maya', 'Jon', 'Priya', 'Tomás', 'Lena', 'Kwame', 'Sofia', 'Ravi', 'Hannah', 'Mateo', 'Aiko', 'Grace',
    'Omar', 'Zoë', 'Felix', 'Nadia', 'Luca', 'Inês', 'Sam', 'Ada', "D'Arcy", 'Björn'];
  const places = ['the lake', 'Lisbon', "my grandma's place", "the farmers' market", 'downtown', 'the climbing gym', 'Kyoto',
    'the library', 'the beach', 'our cabin up north', 'the community center', 'Berlin', 'the park by the river',
    'the café on 5th Street', 'the animal shelter', 'Mexico City', 'the art museum', 'St. Louis', 'the old bookstore'];
  const activities = ['painting', 'hiking', 'baking sourdough', 'running', 'learning guitar', 'pottery',
    'volunteering at the shelter', 'gardening', 'reading sci-fi', 'rock climbing', 'journaling', 'playing chess',
    'camping', 'photography', 'swimming', 'knitting', 'coding a little app', 'training for a half marathon',
    'taking salsa classes', 'writing poems'];
  const foods = ['tacos', 'pad thai', 'blueberry pancakes', 'homemade pizza', 'ramen', 'a huge salad', 'banana bread',
    'falafel wraps', 'crème brûlée', 'dim sum', 'jollof rice', 'pierogi'];
  const pets = ['My dog Biscuit', 'Our cat Pepper', 'The puppy', 'Our old beagle', 'My parrot, Mango,'];
  const feelings = ['so proud', 'a bit nervous', 'really excited', 'super grateful', 'kind of exhausted', 'thrilled',
    'relieved', 'overwhelmed but happy', 'SO happy', 'weirdly calm'];
  const times = ['last weekend', 'yesterday', 'two weeks ago', 'this morning', 'on Saturday', 'back in May',
    'over the summer', 'last night', 'a couple of months ago', 'earlier today', 'over the holidays'];
  const adjectives = ['amazing', 'so peaceful', 'kind of chaotic', 'unforgettable', 'freezing', 'gorgeous', 'a blast',
    'super relaxing', 'totally worth it', 'a little scary'];
  const relatives = ['mom', 'dad', 'sister', 'little brother', 'grandpa', 'aunt Rosa', 'cousin', 'best friend'];
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
    'November', 'December'];
  const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  const titles = ['The Midnight Garden', 'Stars Over Nowhere', 'A Year of Small Things', 'Salt & Light',
    'The 7 Habits of Highly Effective People', "Ender's Game", 'Where the River Bends'];
  const emoji = ['😊', '😂', '🥰', '👍', '👍🏽', '🎉', '❤️', '🙌', '😅', '🌊', '🏔️', '🐶', '🍕', '📚', '🎨', '🏃‍♀️',
    '👨‍👩‍👧', '🇵🇹', '✨', '🤞', '☕', '💪🏾', '🙏', '😍', '🥳', '🤷‍♂️', '😭', '🌻'];
  const captions = ['a golden retriever sitting on a porch', 'a plate of pancakes with berries and syrup',
    'a painting of a sunset over the ocean', 'a group of friends around a campfire', 'a hand holding a finisher medal',
    'a bookshelf full of colorful novels', 'a snowy mountain trail with pine trees', 'a kid building a sandcastle',
    'a latte with a heart drawn in the foam', 'a clay vase drying on a wooden table', 'a city street at night with neon signs',
    'a small vegetable garden with tomatoes', 'a cat sleeping in a cardboard box', 'a guitar leaning against a couch',
    'two people smiling at a concert', 'a handwritten card that says "thank you"'];

  const clock = () => `${int(1, 12)}:${String(int(0, 11) * 5).padStart(2, '0')} ${pick(['am', 'pm', 'AM', 'PM', 'p.m.'])}`;
  const date = () => pick([
    () => `${pick(months)} ${int(1, 28)}, ${int(2015, 2026)}`,
    () => `${int(1, 28)} ${pick(months)} ${int(2015, 2026)}`,
    () => `${int(1, 12)}/${int(1, 28)}/${String(int(15, 26))}`,
    () => `${pick(weekdays)} the ${ordinal(int(1, 31))}`,
  ])();
  const ordinal = n => n + (n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th');
  const money = () => pick([
    () => `$${int(3, 99)}`,
    () => `$${int(1, 9)},${String(int(0, 999)).padStart(3, '0')}`,
    () => `$${int(10, 500)}.${String(int(0, 99)).padStart(2, '0')}`,
    () => `€${int(5, 300)}`,
    () => `${int(2, 40)} bucks`,
  ])();
  const distance = () => pick(['5K', '10K', 'a half marathon', `${int(2, 26)}.${int(0, 9)} miles`, `${int(3, 42)} km`]);
  const duration = () => pick([`${int(18, 59)}:${String(int(0, 59)).padStart(2, '0')}`, `${int(1, 4)}h ${int(0, 59)}m`,
    `just under ${int(2, 5)} hours`]);
  const name = () => pick(names);

  const openers = [() => `Hey ${name()}!`, () => `Hi ${name()},`, () => 'Oh wow,', () => 'Haha', () => 'Aw,',
    () => 'Thanks so much!', () => 'Good to hear from you!', () => 'No way!', () => 'Honestly,', () => 'Guess what?',
    () => 'Omg', () => 'Hmm,', () => 'Yeah,', () => `Wow, ${name()}!`, () => "That's amazing!", () => 'LOL',
    () => 'Wait, really?!', () => 'Ahh'];
  const sentences = [
    () => `I've been ${pick(activities)} a lot ${pick(times)} and I'm ${pick(feelings)} about it.`,
    () => `We went to ${pick(places)} ${pick(times)} - it was ${pick(adjectives)}!`,
    () => `We went to ${pick(places)} ${pick(times)} — it was ${pick(adjectives)}!`,
    () => `${name()} and I finally tried ${pick(foods)} at ${pick(places)}; it cost ${money()} but it was ${pick(adjectives)}.`,
    () => `How's the ${pick(activities)} going?`,
    () => `Did you ever get back into ${pick(activities)}?`,
    () => `I ran ${distance()} in ${duration()} ${pick(times)}!!`,
    () => `My ${pick(relatives)} turns ${int(2, 95)} on ${date()}, so we're planning a little party.`,
    () => `It was ${int(-12, 104)}°${pick(['F', 'C'])} out, so we stayed in and watched ${int(2, 9)} episodes of that show you recommended.`,
    () => `I'm reading "${pick(titles)}" right now… can't put it down.`,
    () => `I'm reading “${pick(titles)}” right now... can’t put it down.`,
    () => `Quick update: the fundraiser raised ${money()} (${int(5, 180)}% over our goal)!`,
    () => `Remember when we met at ${pick(places)} in ${int(2008, 2024)}? Feels like forever ago.`,
    () => `${pick(pets)} knocked over my coffee at ${clock()}, right before my big call.`,
    () => `Let's meet at ${clock()} on ${pick(weekdays)}, ok?`,
    () => `I'd love to! What about ${date()}?`,
    () => `It's not easy, but I'm learning to take things one step at a time.`,
    () => `Thanks, ${name()}. That really means a lot to me.`,
    () => `We're ${int(2, 12)} weeks away from the move... still SO much to pack!`,
    () => `The score was ${int(0, 35)}-${int(0, 35)}, can you believe it?`,
    () => `My number changed btw, it's +1 (${int(200, 989)}) ${int(200, 989)}-${String(int(0, 9999)).padStart(4, '0')}.`,
    () => `The pics are up at https://photos.example.com/${pick(activities).split(' ')[0]}-${int(1, 99)} if you want to see them.`,
    () => `I signed up for a ${pick(activities)} workshop (${int(2, 8)} sessions, ${money()}) & I start on ${date()}.`,
    () => `What's your favorite thing about ${pick(activities)}?`,
    () => `That sounds ${pick(adjectives)}! Was it your first time at ${pick(places)}?`,
    () => `I can't wait to hear all about it when you're back!`,
    () => `Be proud of yourself, ${name()} - you've worked really hard for this.`,
    () => `Honestly I didn't think I'd make it, but here we are :)`,
    () => `We adopted a ${int(2, 14)}-week-old kitten named ${name()}; she's already running the house.`,
    () => `Work has been crazy lately (${int(45, 70)}-hour weeks), so ${pick(activities)} keeps me sane.`,
    () => `Our team won ${ordinal(int(1, 5))} place out of ${int(6, 120)} teams!`,
    () => `I'm ${pick(feelings)}; the results come out on ${date()} at ${clock()}.`,
    () => `Do you still have that recipe for ${pick(foods)}? Mine came out way too salty lol`,
    () => `It took ${int(2, 40)} tries, but I finally nailed it.`,
    () => `I'm thinking of going back to school for ${pick(['nursing', 'graphic design', 'counseling', 'engineering', 'teaching'])} - what do you think?`,
    () => `Ugh, my flight got delayed ${int(2, 9)} hours... I'm stuck at gate B${int(1, 60)}.`,
    () => `The kids made ${pick(foods)} for dinner, ${int(1, 4)}/${int(5, 10)} would recommend 😂`,
    () => `Sending hugs your way ${pick(emoji)}`,
    () => 'YES!!! We did it!',
    () => 'Wait... what happened next?!',
    () => `Happy birthday, ${name()}!!! 🎂🎉`,
  ];

  const turns = [];
  for (let i = 0; i < count; i++) {
    const parts = [];
    if (chance(0.35)) parts.push(pick(openers)());
    const wanted = pick([1, 1, 2, 2, 2, 3, 3, 4]);
    for (let s = 0; s < wanted; s++) {
      let sentence = pick(sentences)();
      if (chance(0.12)) sentence += ' ' + pick(emoji) + (chance(0.3) ? pick(emoji) : '');
      parts.push(sentence);
    }
    let text = parts.join(chance(0.03) ? '\n' : ' ');
    if (chance(0.05)) text = text.toUpperCase();
    if (chance(0.2)) text += ` [shares a photo: ${pick(captions)}]`;
    turns.push(text);
  }
  return turns;
}
