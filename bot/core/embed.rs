//! Static sentence embeddings for a semantic second opinion in triage: a token table distilled from the sentence
//! model all-MiniLM-L6-v2 (model2vec method) and a pure-Rust encoder. No I/O: the table is compiled in.
//!
//! A text's embedding is the L2-normalised mean of its tokens' vectors, so it costs a tokeniser pass and a few
//! hundred multiply-adds per token (microseconds per chat message). The table, its provenance and its licence
//! (Apache-2.0) are in `assets/`; `scripts/distill_embeddings.py` made it and documents the method and the binary
//! format, and `tests/data/embed_fixture.json` holds that script's vectors for the tests below.
//!
//! The tokeniser is BERT's uncased one exactly as the model's `tokenizer.json` configures it (Hugging Face
//! `BertNormalizer` + `BertPreTokenizer` + `WordPiece`):
//! 1. the literal special tokens `[PAD] [UNK] [CLS] [SEP] [MASK]` are cut out of the raw text (and ignored);
//! 2. NUL, U+FFFD and control characters (categories Cc, Cf, Co; not tab, CR, LF) are dropped, whitespace
//!    separates words (unassigned code points are kept: Python's BERT drops them, the model's tokenizer does not);
//! 3. CJK ideographs become words of their own;
//! 4. accents are stripped (canonical decomposition, then non-spacing marks dropped) and letters lowercased;
//! 5. punctuation (ASCII punctuation and Unicode P*) splits words and is a token of its own;
//! 6. each word is cut into WordPiece tokens greedily, longest match first, `##` marking continuations; a word
//!    over 100 characters, or one with a part that matches nothing, is `[UNK]`, which the mean leaves out.
//!
//! Unicode data comes from `unicode-normalization` and `unicode-properties`, both already in the build through
//! sqlx's Postgres driver. Their tables are newer than those of Hugging Face `tokenizers`, so a character assigned
//! after Unicode 9 that is punctuation, a mark or a control character can split differently (4 of 6,000 random
//! mixed-script strings in a one-off check; ordinary text and emoji agree). Only the first [`MAX_EMBED_BYTES`] of a
//! text are read.

use super::model::prefix;
use fnv::FnvHashMap as HashMap;
use std::borrow::Cow;
use std::sync::OnceLock;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// How much of a text is looked at; longer text is embedded on this prefix (cut on a char boundary).
pub const MAX_EMBED_BYTES: usize = 4096;

/// The shipped table: all-MiniLM-L6-v2 distilled to 192 dimensions, int8 rows with a per-row scale.
static SHIPPED_TABLE: &[u8] = include_bytes!("../../assets/minilm-static-192.bin");

const MAGIC: &[u8; 8] = b"DSKEMBED";
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 24;
/// Larger than any sensible table; keeps a corrupt header from asking for absurd sizes.
const MAX_DIM: usize = 4096;
/// BERT's `max_input_chars_per_word`: longer words are `[UNK]`.
const MAX_WORD_CHARS: usize = 100;
const CONTINUATION: &str = "##";
/// Each byte's value as an `i8`, as `f32`. The release build optimises for size, which turns off LLVM's
/// vectoriser; a table load is then cheaper than an int-to-float conversion.
static DEQUANTISED: [f32; 256] = {
    let mut table = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8 as i8) as f32;
        i += 1;
    }
    table
};
/// Matched in the raw text before normalisation, as the model's tokeniser does, and left out of the mean.
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Why a table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The data does not start with the table's magic bytes.
    #[error("not an embedding table (bad magic bytes)")]
    NotATable,
    /// A format version this build cannot read.
    #[error("embedding table format version {0} is not supported (this build reads version {FORMAT_VERSION})")]
    Version(u32),
    /// The header's dimensions or row count are impossible.
    #[error("embedding table header is invalid: {0}")]
    Header(&'static str),
    /// The data ends before the section the header announced.
    #[error("embedding table is truncated in its {section}: {needed} bytes needed, {available} available")]
    Truncated { section: &'static str, needed: usize, available: usize },
    /// Bytes follow the last row.
    #[error("embedding table has {0} bytes after its last row")]
    TrailingBytes(usize),
    /// A vocabulary entry is empty, not UTF-8 or repeated.
    #[error("embedding table vocabulary entry {row} is invalid: {reason}")]
    Token { row: usize, reason: &'static str },
    /// A row's scale is not a finite number.
    #[error("embedding table row {0} has a scale that is not finite")]
    Scale(usize),
}

/// A static token-embedding table and the tokeniser that feeds it.
pub struct StaticEmbeddings {
    dim: usize,
    /// Word-initial tokens, to their row.
    words: HashMap<Box<str>, u32>,
    /// Continuation tokens without their `##`, to their row.
    pieces: HashMap<Box<str>, u32>,
    /// Longest key (in chars) of `words` and of `pieces`: no longer match is worth trying.
    longest_word: usize,
    longest_piece: usize,
    scales: Vec<f32>,
    /// `rows × dim` int8 values stored as bytes; borrowed from the binary for the shipped table.
    rows: Cow<'static, [u8]>,
}

impl std::fmt::Debug for StaticEmbeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticEmbeddings").field("dim", &self.dim).field("rows", &self.scales.len()).finish()
    }
}

/// The checked layout of a table: its vocabulary and where its scales and rows are.
struct Layout<'a> {
    dim: usize,
    tokens: Vec<&'a str>,
    scales: Vec<f32>,
    rows: &'a [u8],
}

fn take<'a>(b: &'a [u8], at: usize, len: usize, section: &'static str) -> Result<&'a [u8], TableError> {
    let available = b.len().saturating_sub(at);
    if len > available {
        return Err(TableError::Truncated { section, needed: len, available });
    }
    Ok(&b[at..at + len])
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn parse(b: &[u8]) -> Result<Layout<'_>, TableError> {
    if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
        return Err(TableError::NotATable);
    }
    let header = take(b, 0, HEADER_BYTES, "header")?;
    let version = u32_at(header, 8);
    if version != FORMAT_VERSION as usize {
        return Err(TableError::Version(version as u32));
    }
    let (dim, n, vocab_len) = (u32_at(header, 12), u32_at(header, 16), u32_at(header, 20));
    if dim == 0 || dim > MAX_DIM {
        return Err(TableError::Header("dimensions must be between 1 and 4096"));
    }
    if n == 0 {
        return Err(TableError::Header("no rows"));
    }
    let row_bytes = n.checked_mul(dim).ok_or(TableError::Header("too many rows"))?;
    let vocab = take(b, HEADER_BYTES, vocab_len, "vocabulary")?;
    // Each entry takes at least two bytes, so a lying row count cannot make this allocation large.
    let mut tokens = Vec::with_capacity(n.min(vocab_len / 2));
    let mut at = 0;
    while at < vocab.len() {
        let row = tokens.len();
        if row == n {
            return Err(TableError::Header("vocabulary holds more entries than the table has rows"));
        }
        let len = vocab[at] as usize;
        let bytes = take(vocab, at + 1, len, "vocabulary")?;
        let token = std::str::from_utf8(bytes).map_err(|_| TableError::Token { row, reason: "not UTF-8" })?;
        if token.is_empty() {
            return Err(TableError::Token { row, reason: "empty" });
        }
        tokens.push(token);
        at += 1 + len;
    }
    if tokens.len() != n {
        return Err(TableError::Header("vocabulary holds fewer entries than the table has rows"));
    }
    let scales_at = HEADER_BYTES + vocab_len;
    let scale_bytes = take(b, scales_at, 4 * n, "scales")?;
    let scales: Vec<f32> = scale_bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if let Some(row) = scales.iter().position(|s| !s.is_finite()) {
        return Err(TableError::Scale(row));
    }
    let rows_at = scales_at + 4 * n;
    let rows = take(b, rows_at, row_bytes, "rows")?;
    let end = rows_at + row_bytes;
    if b.len() > end {
        return Err(TableError::TrailingBytes(b.len() - end));
    }
    Ok(Layout { dim, tokens, scales, rows })
}

impl StaticEmbeddings {
    /// The table compiled into deskbot, parsed on first use.
    pub fn shipped() -> &'static StaticEmbeddings {
        static SHIPPED: OnceLock<StaticEmbeddings> = OnceLock::new();
        // The shipped file is checked by the tests below, so this cannot fail in a tested build.
        SHIPPED.get_or_init(|| Self::build(SHIPPED_TABLE, Cow::Borrowed).expect("the shipped embedding table is valid"))
    }

    /// Reads a table in the format `scripts/distill_embeddings.py` writes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StaticEmbeddings, TableError> {
        Self::build(bytes, |rows| Cow::Owned(rows.to_vec()))
    }

    fn build<'a>(
        bytes: &'a [u8],
        keep_rows: impl FnOnce(&'a [u8]) -> Cow<'static, [u8]>,
    ) -> Result<StaticEmbeddings, TableError> {
        let layout = parse(bytes)?;
        let mut words = HashMap::with_capacity_and_hasher(layout.tokens.len(), Default::default());
        let mut pieces = HashMap::default();
        let (mut longest_word, mut longest_piece) = (0, 0);
        for (row, token) in layout.tokens.iter().enumerate() {
            let (map, longest, key) = match token.strip_prefix(CONTINUATION) {
                Some(piece) => (&mut pieces, &mut longest_piece, piece),
                None => (&mut words, &mut longest_word, *token),
            };
            if key.is_empty() {
                return Err(TableError::Token { row, reason: "a continuation mark without text" });
            }
            if map.insert(Box::<str>::from(key), row as u32).is_some() {
                return Err(TableError::Token { row, reason: "repeated" });
            }
            *longest = (*longest).max(key.chars().count());
        }
        Ok(StaticEmbeddings {
            dim: layout.dim,
            words,
            pieces,
            longest_word,
            longest_piece,
            scales: layout.scales,
            rows: keep_rows(layout.rows),
        })
    }

    /// Length of the vectors [`Self::embed_into`] writes.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Writes the L2-normalised mean of the text's token vectors into `out` and returns how many tokens were found
    /// (0 ⇒ `out` is all zeros). Only the first [`MAX_EMBED_BYTES`] of `text` are read.
    ///
    /// # Panics
    /// If `out.len()` is not [`Self::dim`]; any text is fine.
    pub fn embed_into(&self, text: &str, out: &mut [f32]) -> usize {
        assert_eq!(out.len(), self.dim, "embedding buffer length must equal the table's dimensions");
        out.fill(0.0);
        let mut found = 0;
        // Rows are added two at a time: half the loads and stores of `out`.
        let mut pending = None;
        self.for_each_token(text, &mut |row| {
            match pending.take() {
                None => pending = Some(row),
                Some(first) => self.add_rows(first, row, out),
            }
            found += 1;
        });
        if let Some(last) = pending {
            let (scale, q) = self.row(last);
            for (o, &b) in out.iter_mut().zip(q) {
                *o += scale * DEQUANTISED[b as usize];
            }
        }
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|x| *x /= norm);
        }
        found
    }

    fn row(&self, row: u32) -> (f32, &[u8]) {
        let start = row as usize * self.dim;
        (self.scales[row as usize], &self.rows[start..start + self.dim])
    }

    fn add_rows(&self, a: u32, b: u32, out: &mut [f32]) {
        let ((sa, qa), (sb, qb)) = (self.row(a), self.row(b));
        for ((o, &x), &y) in out.iter_mut().zip(qa).zip(qb) {
            *o += sa * DEQUANTISED[x as usize] + sb * DEQUANTISED[y as usize];
        }
    }

    /// [`Self::embed_into`] into a new vector.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut out = vec![0.0; self.dim];
        self.embed_into(text, &mut out);
        out
    }

    /// Calls `emit` with the row of every token of `text` in order, `[UNK]` and special tokens left out.
    fn for_each_token(&self, text: &str, emit: &mut impl FnMut(u32)) {
        let mut word = Word::default();
        let mut rest = prefix(text, MAX_EMBED_BYTES);
        loop {
            let (segment, next) = match find_special(rest) {
                Some((at, len)) => (&rest[..at], Some(&rest[at + len..])),
                None => (rest, None),
            };
            for c in segment.chars() {
                self.feed(c, &mut word, emit);
            }
            self.flush(&mut word, emit);
            match next {
                Some(after) => rest = after,
                None => break,
            }
        }
    }

    /// Normalises one character of raw text and adds it to the current word, or ends the word.
    fn feed(&self, c: char, word: &mut Word, emit: &mut impl FnMut(u32)) {
        if c.is_ascii() {
            match c {
                '\t' | '\n' | '\r' | ' ' => self.flush(word, emit),
                '\0'..='\x1f' | '\x7f' => {}
                c if c.is_ascii_punctuation() => self.isolated(c, word, emit),
                c => word.push(c.to_ascii_lowercase()),
            }
            return;
        }
        if c == '\u{fffd}'
            || matches!(
                c.general_category(),
                GeneralCategory::Control | GeneralCategory::Format | GeneralCategory::PrivateUse
            )
        {
            return;
        }
        if c.is_whitespace() {
            self.flush(word, emit);
            return;
        }
        let chinese = is_chinese_char(c);
        if chinese {
            self.flush(word, emit);
        }
        unicode_normalization::char::decompose_canonical(c, |d| {
            if d.general_category() == GeneralCategory::NonspacingMark {
                return;
            }
            for l in d.to_lowercase() {
                if l.is_whitespace() {
                    self.flush(word, emit);
                } else if l.is_ascii_punctuation() || l.general_category_group() == GeneralCategoryGroup::Punctuation {
                    self.isolated(l, word, emit);
                } else {
                    word.push(l);
                }
            }
        });
        if chinese {
            self.flush(word, emit);
        }
    }

    /// A punctuation character: ends the word and is a word of its own.
    fn isolated(&self, c: char, word: &mut Word, emit: &mut impl FnMut(u32)) {
        self.flush(word, emit);
        word.push(c);
        self.flush(word, emit);
    }

    /// WordPiece on the current word, greedy longest match first; emits nothing for an `[UNK]` word.
    fn flush(&self, word: &mut Word, emit: &mut impl FnMut(u32)) {
        if word.text.is_empty() {
            return;
        }
        // Most words are whole tokens: the first lookup of the greedy match below, without its buffers.
        if word.chars <= self.longest_word
            && let Some(&row) = self.words.get(word.text.as_str())
        {
            emit(row);
        } else if word.chars <= MAX_WORD_CHARS {
            let mut bounds = [0usize; MAX_WORD_CHARS + 1];
            for (i, (at, _)) in word.text.char_indices().enumerate() {
                bounds[i] = at;
            }
            bounds[word.chars] = word.text.len();
            let mut found = [0u32; MAX_WORD_CHARS];
            let mut count = 0;
            let mut start = 0;
            'pieces: while start < word.chars {
                let (map, longest) =
                    if start == 0 { (&self.words, self.longest_word) } else { (&self.pieces, self.longest_piece) };
                let mut end = word.chars.min(start + longest);
                while end > start {
                    if let Some(&row) = map.get(&word.text[bounds[start]..bounds[end]]) {
                        found[count] = row;
                        count += 1;
                        start = end;
                        continue 'pieces;
                    }
                    end -= 1;
                }
                count = 0; // a part matched nothing: the whole word is [UNK]
                break;
            }
            found[..count].iter().for_each(|&row| emit(row));
        }
        word.text.clear();
        word.chars = 0;
    }
}

/// The word being collected, already normalised.
#[derive(Default)]
struct Word {
    text: String,
    chars: usize,
}

impl Word {
    fn push(&mut self, c: char) {
        // Past the [UNK] limit the text no longer matters, only that the word is too long.
        if self.chars <= MAX_WORD_CHARS {
            self.text.push(c);
        }
        self.chars += 1;
    }
}

/// The first literal special token in `text`: its byte offset and length.
fn find_special(text: &str) -> Option<(usize, usize)> {
    text.match_indices('[')
        .find_map(|(at, _)| SPECIAL_TOKENS.iter().find(|s| text[at..].starts_with(*s)).map(|s| (at, s.len())))
}

/// BERT's "Chinese character" ranges (CJK Unified Ideographs and extensions, compatibility ideographs).
fn is_chinese_char(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn tokens(e: &StaticEmbeddings, vocab: &[&str], text: &str) -> Vec<String> {
        let mut out = Vec::new();
        e.for_each_token(text, &mut |row| out.push(vocab[row as usize].to_string()));
        out
    }

    /// Writes a table in the shipped format from (token, scale, row) triples.
    fn table(dim: u32, entries: &[(&str, f32, Vec<i8>)]) -> Vec<u8> {
        let mut vocab = Vec::new();
        for (t, _, _) in entries {
            vocab.push(t.len() as u8);
            vocab.extend_from_slice(t.as_bytes());
        }
        let mut b = MAGIC.to_vec();
        for v in [FORMAT_VERSION, dim, entries.len() as u32, vocab.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&vocab);
        entries.iter().for_each(|(_, s, _)| b.extend_from_slice(&s.to_le_bytes()));
        entries.iter().for_each(|(_, _, r)| b.extend(r.iter().map(|&q| q as u8)));
        b
    }

    fn tiny() -> Vec<u8> {
        table(
            2,
            &[
                ("net", 1.0, vec![1, 0]),
                ("##work", 0.5, vec![0, 2]),
                ("wifi", 2.0, vec![0, -1]),
                ("!", 1.0, vec![1, 1]),
            ],
        )
    }

    #[test]
    fn shipped_table_parses_and_matches_its_bytes() {
        let e = StaticEmbeddings::shipped();
        assert_eq!(e.dim(), 192);
        let layout = parse(SHIPPED_TABLE).unwrap();
        assert_eq!(layout.tokens.len(), e.scales.len());
        assert!(layout.tokens.len() > 29_000, "the whole WordPiece vocabulary, less special and unused tokens");
        assert!(matches!(e.rows, Cow::Borrowed(_)), "the shipped rows are not copied");
        let owned = StaticEmbeddings::from_bytes(SHIPPED_TABLE).unwrap();
        let text = "the VPN keeps disconnecting";
        assert_eq!(owned.embed(text), e.embed(text));
    }

    /// The Python script's own encoder (Hugging Face `tokenizers` + the same table) gave these tokens and vectors;
    /// for its seeded random mixed-script strings, tokens only.
    #[test]
    fn matches_the_distillation_script() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/embed_fixture.json")).unwrap();
        assert_eq!(fixture["table"], "minilm-static-192.bin");
        let e = StaticEmbeddings::shipped();
        let vocab = parse(SHIPPED_TABLE).unwrap().tokens;
        let cases = fixture["cases"].as_array().unwrap();
        let mut vectors = 0;
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let want_tokens: Vec<&str> =
                case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            assert_eq!(tokens(e, &vocab, text), want_tokens, "tokens of {text:?}");
            let mut got = vec![0.0; e.dim()];
            let found = e.embed_into(text, &mut got);
            assert_eq!(found as u64, case["count"].as_u64().unwrap(), "token count of {text:?}");
            if let Some(want) = case["vector"].as_array() {
                let worst =
                    got.iter().zip(want).map(|(g, w)| (g - w.as_f64().unwrap() as f32).abs()).fold(0.0, f32::max);
                assert!(worst < 1e-3, "{text:?}: largest difference {worst}");
                vectors += 1;
            }
        }
        assert!(vectors >= 10 && cases.len() >= 50, "{vectors} vectors in {} cases", cases.len());
    }

    #[test]
    fn similar_messages_are_closer_than_unrelated_ones() {
        let e = StaticEmbeddings::shipped();
        let laptop = e.embed("my laptop won't switch on");
        let boot = e.embed("computer does not boot");
        let cake = e.embed("who is bringing cake");
        assert!(cos(&laptop, &boot) > cos(&laptop, &cake) + 0.1, "{} vs {}", cos(&laptop, &boot), cos(&laptop, &cake));
        let vpn = e.embed("vpn keeps dropping");
        let wifi = e.embed("the wifi connection is unstable");
        assert!(cos(&vpn, &wifi) > cos(&vpn, &cake));
    }

    #[test]
    fn tokeniser_follows_bert() {
        let e = StaticEmbeddings::shipped();
        let vocab = parse(SHIPPED_TABLE).unwrap().tokens;
        let t = |s: &str| tokens(e, &vocab, s).join(" ");
        assert_eq!(t("Hello, WORLD!"), "hello , world !");
        assert_eq!(t("Café naïve"), "cafe naive");
        assert_eq!(t("soft\u{ad}hyphen"), t("softhyphen"), "format characters are dropped, not word breaks");
        assert_eq!(t("東京"), "東 京");
        assert_eq!(t("x[CLS]y [SEP]"), "x y");
        assert_eq!(t("“quoted”"), "“ quoted ”");
        assert_eq!(t(&"a".repeat(101)), "", "over 100 characters is [UNK]");
        assert!(!t(&"a".repeat(100)).is_empty());
        assert_eq!(t("😀"), "", "no token for an emoji: [UNK]");
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let e = StaticEmbeddings::shipped();
        let mut out = vec![1.0; e.dim()];
        for text in ["", " \t\r\n ", "\0\u{7}\u{200b}\u{feff}", "😀😀😀", "\u{301}\u{301}", "[CLS][SEP]", "[", "##"]
        {
            let found = e.embed_into(text, &mut out);
            assert!(out.iter().all(|x| x.is_finite()), "{text:?}");
            if found == 0 {
                assert!(out.iter().all(|&x| x == 0.0), "{text:?} found nothing, so its vector is zero");
            } else {
                assert!((cos(&out, &out) - 1.0).abs() < 1e-4, "{text:?}");
            }
        }
        assert_eq!(e.embed_into("", &mut out), 0);

        let mixed = "Ünïcödé ⚠️ 日本語テキスト 한국어 العربية हिन्दी ελληνικά русский 🏳️‍🌈 \u{202e}x\u{202c} ##a## ";
        let huge: String = mixed.repeat(100_000 / mixed.len() + 1);
        assert!(huge.len() > 100_000);
        assert!(e.embed_into(&huge, &mut out) > 0);
        assert!(out.iter().all(|x| x.is_finite()));
        // Only the first MAX_EMBED_BYTES count, cut on a char boundary ("€" is three bytes).
        let euros = "€".repeat(3000);
        e.embed_into(&euros, &mut out);
        assert_eq!(e.embed(&euros), e.embed(prefix(&euros, MAX_EMBED_BYTES)));
        let words = "printer jam ".repeat(1000);
        assert_eq!(e.embed(&words), e.embed(&words[..MAX_EMBED_BYTES]));
        assert_ne!(e.embed(&words), e.embed(&format!("{}wifi", &words[..MAX_EMBED_BYTES - 4])));
        let long_word = "a".repeat(5000);
        assert_eq!(e.embed_into(&long_word, &mut out), 0);
    }

    #[test]
    #[should_panic(expected = "buffer length")]
    fn a_wrong_buffer_length_is_a_programming_error() {
        StaticEmbeddings::shipped().embed_into("hello", &mut [0.0; 3]);
    }

    #[test]
    fn reads_a_small_table() {
        let e = StaticEmbeddings::from_bytes(&tiny()).unwrap();
        assert_eq!(e.dim(), 2);
        let mut out = [0.0; 2];
        // "network" = net + ##work: (1, 0) + (0, 1) normalised; "!" is its own token; "xyz" is [UNK].
        assert_eq!(e.embed_into("Network xyz", &mut out), 2);
        assert!((out[0] - out[1]).abs() < 1e-6 && (out[0] - 0.70710677).abs() < 1e-6);
        assert_eq!(e.embed_into("wifi!", &mut out), 2);
        assert_eq!(e.embed_into("networks", &mut out), 0, "no piece for the trailing s: the word is [UNK]");
    }

    #[test]
    fn rejects_bad_tables() {
        let good = tiny();
        for len in 0..good.len() {
            let err = StaticEmbeddings::from_bytes(&good[..len]).unwrap_err();
            assert!(
                matches!(err, TableError::NotATable | TableError::Truncated { .. } | TableError::Header(_)),
                "{len}: {err}"
            );
        }
        for cut in [10, 24, 1000, 200_000, SHIPPED_TABLE.len() - 1] {
            assert!(StaticEmbeddings::from_bytes(&SHIPPED_TABLE[..cut]).is_err(), "shipped table cut at {cut}");
        }
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(StaticEmbeddings::from_bytes(&garbage).unwrap_err(), TableError::NotATable);

        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(StaticEmbeddings::from_bytes(&longer).unwrap_err(), TableError::TrailingBytes(1));
        let mut version = good.clone();
        version[8] = 2;
        assert_eq!(StaticEmbeddings::from_bytes(&version).unwrap_err(), TableError::Version(2));
        let mut dims = good.clone();
        dims[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(StaticEmbeddings::from_bytes(&dims).unwrap_err(), TableError::Header(_)));
        let mut huge_dims = good.clone();
        huge_dims[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(StaticEmbeddings::from_bytes(&huge_dims).unwrap_err(), TableError::Header(_)));
        let mut huge_rows = good.clone();
        huge_rows[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(StaticEmbeddings::from_bytes(&huge_rows).is_err());
        let mut huge_vocab = good.clone();
        huge_vocab[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(StaticEmbeddings::from_bytes(&huge_vocab).unwrap_err(), TableError::Truncated { .. }));

        let nan = table(1, &[("a", f32::NAN, vec![1])]);
        assert_eq!(StaticEmbeddings::from_bytes(&nan).unwrap_err(), TableError::Scale(0));
        let twice = table(1, &[("a", 1.0, vec![1]), ("a", 1.0, vec![1])]);
        assert!(matches!(StaticEmbeddings::from_bytes(&twice).unwrap_err(), TableError::Token { row: 1, .. }));
        let bare = table(1, &[("##", 1.0, vec![1])]);
        assert!(matches!(StaticEmbeddings::from_bytes(&bare).unwrap_err(), TableError::Token { row: 0, .. }));
        let mut not_utf8 = table(1, &[("ab", 1.0, vec![1])]);
        not_utf8[HEADER_BYTES + 1] = 0xff;
        assert!(matches!(StaticEmbeddings::from_bytes(&not_utf8).unwrap_err(), TableError::Token { row: 0, .. }));
        let empty = table(1, &[("", 1.0, vec![1])]);
        assert!(matches!(StaticEmbeddings::from_bytes(&empty).unwrap_err(), TableError::Token { row: 0, .. }));
    }

    /// `cargo test --release --lib embed::tests::throughput -- --ignored --nocapture` (no timed assertion).
    #[test]
    #[ignore = "prints a throughput figure; run in release"]
    fn throughput() {
        let e = StaticEmbeddings::shipped();
        let messages = [
            "my laptop will not turn on after the update today",
            "cannot connect to the office wifi since early this morning",
            "please reset my password for the finance portal right away",
            "the printer on floor three keeps jamming again and again",
        ];
        let words: usize = messages.iter().map(|m| m.split_whitespace().count()).sum::<usize>() / messages.len();
        let mut out = vec![0.0; e.dim()];
        let n = 200_000;
        // Best of five rounds: the figure is for a quiet core, not a shared one.
        let best = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                for i in 0..n {
                    e.embed_into(std::hint::black_box(messages[i % messages.len()]), &mut out);
                }
                start.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min);
        println!("{:.0} embeds/s ({:.2} µs each, {words}-word messages)", n as f64 / best, best * 1e6 / n as f64);
    }
}
