#!/usr/bin/env node
// Runs Twilio's segment calculator (npm sms-segments-calculator, pinned in package.json) for
// textwire: the reference that tests/unit/fixtures/segments_reference.json and
// bench/segments.py compare textwire.segments against.
//
//   node reference_calculator.js analyze < cases.json   # [{text, smart}] -> [{encoding, part_lengths...}]
//   node reference_calculator.js maps                   # the calculator's GSM and smart maps
//   node reference_calculator.js bench SECONDS < texts.json   # messages per second
'use strict';

const { SegmentedMessage } = require('sms-segments-calculator');
const SmartEncodingMap = require('sms-segments-calculator/dist/libs/SmartEncodingMap').default;
const UnicodeToGsm = require('sms-segments-calculator/dist/libs/UnicodeToGSM').default;

function readStdin() {
  return JSON.parse(require('fs').readFileSync(0, 'utf8'));
}

function describe(text, smart) {
  const message = new SegmentedMessage(text, 'auto', smart);
  return {
    encoding: message.encodingName,
    num_segments: message.segmentsCount,
    // Each part's length in code points: the parts are slices of the (smart-encoded) text.
    // Array.from: Segment's species constructor would add header items to map()'s result.
    part_lengths: message.segments.map(
      (segment) =>
        [
          ...Array.from(segment)
            .filter((item) => !item.isUserDataHeader)
            .map((item) => item.raw)
            .join(''),
        ].length,
    ),
    number_of_characters: message.numberOfCharacters,
    non_gsm: [...new Set(message.getNonGsmCharacters())],
  };
}

function analyze() {
  process.stdout.write(JSON.stringify(readStdin().map((c) => describe(c.text, c.smart))));
}

function maps() {
  const gsm = {};
  for (const [code, septets] of Object.entries(UnicodeToGsm)) {
    gsm[String.fromCharCode(Number(code))] = septets;
  }
  process.stdout.write(JSON.stringify({ unicode_to_gsm: gsm, smart_encoding: SmartEncodingMap }));
}

// Messages per second over the texts, after a second of warm-up for the JIT.
function bench(seconds) {
  const texts = readStdin();
  const run = (budget) => {
    let count = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(budget * 1e9));
    let now = start;
    while (now < deadline) {
      new SegmentedMessage(texts[count % texts.length]);
      count += 1;
      now = process.hrtime.bigint();
    }
    return { messages: count, seconds: Number(now - start) / 1e9 };
  };
  run(1);
  const measured = run(seconds);
  process.stdout.write(JSON.stringify({ ...measured, per_second: measured.messages / measured.seconds }));
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'analyze') analyze();
else if (mode === 'maps') maps();
else if (mode === 'bench') bench(Number(arg || 3));
else {
  process.stderr.write('usage: reference_calculator.js analyze|maps|bench [SECONDS]\n');
  process.exit(2);
}
