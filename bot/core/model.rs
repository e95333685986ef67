//! A small statistical text classifier: hashed word and character n-gram TF-IDF features and a linear model per
//! label (an L2-regularised linear SVM blended with an NBSVM), trained by dual coordinate descent. No I/O.
//!
//! Features are lowercased word unigrams (optionally bigrams) plus character 2–5-grams inside word boundaries (like
//! scikit-learn's `char_wb`), hashed into a fixed space, with sublinear term frequency, IDF from the training set
//! and L2 normalisation per block. Only the first [`MAX_MODEL_BYTES`] of a text are read.
//!
//! Each label gets a one-vs-rest score that is the mean of two squared-hinge linear SVMs: one on the TF-IDF
//! features and one on the same features scaled by naive-Bayes log-count ratios (NBSVM, Wang & Manning 2012).
//! Both are linear in the TF-IDF vector, so they fold into one weight per feature and label. Positive examples are
//! weighted by `n / (labels * n_label)` so that rare labels are not drowned out. Scores become probabilities by a
//! softmax with a temperature.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// How much of a text is looked at; longer text is classified on this prefix (cut on a char boundary).
pub const MAX_MODEL_BYTES: usize = 4096;

/// Knobs for [`TextModel::train`]. The defaults were tuned by 5-fold cross-validation on short ticket titles.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Feature space is `2^hash_bits` buckets.
    pub hash_bits: u32,
    /// Smallest and largest character n-gram (counted with the boundary spaces).
    pub char_min: usize,
    pub char_max: usize,
    /// Whether to add word bigrams to the unigrams (off by default: they cost 0.01 macro-F1 on ticket titles).
    pub word_bigrams: bool,
    /// SVM cost on the TF-IDF features.
    pub c_svm: f64,
    /// SVM cost on the NB-scaled features.
    pub c_nb: f64,
    /// Additive smoothing of the naive-Bayes counts.
    pub nb_alpha: f64,
    /// Share of the NBSVM in the blended score (0 = plain SVM, 1 = NBSVM only).
    pub nb_mix: f64,
    /// Weight positive examples of rare labels up (`n / (labels * n_label)`).
    pub balanced: bool,
    /// Softmax temperature applied to the margins.
    pub temperature: f64,
    /// Dual coordinate descent: at most this many passes, stopping when the projected gradient spread is below
    /// `tolerance`.
    pub max_passes: usize,
    pub tolerance: f64,
    /// Seeds the order in which coordinates are visited.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            hash_bits: 18,
            char_min: 2,
            char_max: 5,
            word_bigrams: false,
            c_svm: 0.1,
            c_nb: 0.03,
            nb_alpha: 1.0,
            nb_mix: 0.5,
            balanced: true,
            temperature: 0.2,
            max_passes: 1000,
            tolerance: 0.01,
            seed: 0x05ee_dd35_cb07,
        }
    }
}

/// A trained classifier. Cheap to query from many threads (`&self` only).
#[derive(Debug, Clone)]
pub struct TextModel {
    labels: Vec<String>,
    /// Feature extraction settings copied from the options.
    hash_bits: u32,
    char_min: usize,
    char_max: usize,
    word_bigrams: bool,
    temperature: f64,
    /// Bucket → row + 1 in `rows` (0 = bucket never seen in training, ignored).
    slot: Vec<u32>,
    /// Per seen bucket: `[idf, weight for label 0, weight for label 1, …]`.
    rows: Vec<f32>,
    bias: Vec<f32>,
}

/// How many distinct hashed features of a text fall in buckets seen in training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Distinct word (and bigram) features of the text, and how many of them were seen in training.
    pub words: usize,
    pub known_words: usize,
    /// Distinct character n-gram features, and how many were seen in training.
    pub chars: usize,
    pub known_chars: usize,
}

/// The output of [`TextModel::scores`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// One probability per label, in [`TextModel::labels`] order; sums to 1 (empty for a model with no labels).
    pub probs: Vec<f64>,
    pub coverage: Coverage,
}

/// Which block a feature belongs to; each block is normalised on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    /// The word `words[i]`.
    Word(usize),
    /// The words `words[i]` and `words[i + 1]`.
    Bigram(usize),
    /// Chars `start..start + n` of word `i` padded with a space on each side.
    Chars { word: usize, start: usize, n: usize },
}

const SEED_WORD: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_BIGRAM: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED_CHAR: u64 = 0x1656_67b1_9e37_79f9;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn step(h: u64, c: char) -> u64 {
    (h ^ c as u64).wrapping_mul(FNV_PRIME)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    // splitmix64 finaliser: spreads the FNV state over all bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The first `max` bytes of `text`, cut on a char boundary.
pub(crate) fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reusable buffers for feature extraction.
#[derive(Default)]
struct Scratch {
    chars: Vec<char>,
    /// Word `i` is `chars[words[i].0..words[i].1]`.
    words: Vec<(usize, usize)>,
    /// (bucket, value) pairs: word block first, then char block.
    feats: Vec<(u32, f32)>,
    scores: Vec<f64>,
    /// Per-label f32 sums of [`TextModel::margins`].
    sums: Vec<f32>,
    /// Hashed word and char buckets of the text, before counting.
    word_buckets: Vec<u32>,
    char_buckets: Vec<u32>,
    /// The hashed features of the last text extracted on this thread, before any model's weighting: triage
    /// scores one message with the category model and then the intent model, which extract the same features.
    last: Option<Extracted>,
}

/// Hashed features of `text` under one feature setting, and where the char block starts.
struct Extracted {
    text: String,
    setting: (u32, bool, usize, usize),
    feats: Vec<(u32, f32)>,
    split: usize,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Lowercases the bounded prefix of `text` into `s.chars` and splits it into words: runs of alphanumeric chars,
/// and every other non-space, non-punctuation char (emoji, symbols) as a word of its own.
fn tokenise(text: &str, s: &mut Scratch) {
    s.chars.clear();
    s.words.clear();
    let mut start: Option<usize> = None;
    for c in prefix(text, MAX_MODEL_BYTES).chars() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(s.chars.len());
            }
            s.chars.extend(c.to_lowercase());
            continue;
        }
        if let Some(b) = start.take() {
            s.words.push((b, s.chars.len()));
        }
        if !c.is_whitespace() && !c.is_ascii_punctuation() && !c.is_control() && !is_general_punctuation(c) {
            let b = s.chars.len();
            s.chars.push(c);
            s.words.push((b, b + 1));
        }
    }
    if let Some(b) = start {
        s.words.push((b, s.chars.len()));
    }
}

fn is_general_punctuation(c: char) -> bool {
    matches!(c, '\u{2000}'..='\u{206f}' | '\u{3000}'..='\u{303f}' | '\u{fe00}'..='\u{fe0f}')
}

/// Calls `f(is_char_block, hash, feature)` for every feature of the tokenised text, words first.
fn for_each_feature(
    s: &Scratch,
    bigrams: bool,
    char_min: usize,
    char_max: usize,
    mut f: impl FnMut(bool, u64, Feature),
) {
    let word_hash = |&(a, b): &(usize, usize), seed: u64| s.chars[a..b].iter().fold(seed, |h, &c| step(h, c));
    for (i, w) in s.words.iter().enumerate() {
        f(false, finish(word_hash(w, SEED_WORD)), Feature::Word(i));
        if bigrams && let Some(next) = s.words.get(i + 1) {
            let h = step(word_hash(w, SEED_BIGRAM), ' ');
            let h = s.chars[next.0..next.1].iter().fold(h, |h, &c| step(h, c));
            f(false, finish(h), Feature::Bigram(i));
        }
    }
    for (i, &(a, b)) in s.words.iter().enumerate() {
        let word = &s.chars[a..b];
        let padded_len = word.len() + 2;
        let at = |j: usize| if j == 0 || j == padded_len - 1 { ' ' } else { word[j - 1] };
        for start in 0..padded_len {
            let mut h = SEED_CHAR;
            for n in 1..=char_max.min(padded_len - start) {
                h = step(h, at(start + n - 1));
                if n >= char_min {
                    f(true, finish(h), Feature::Chars { word: i, start, n });
                }
            }
        }
    }
}

/// Appends the sorted buckets as (bucket, sublinear tf `1 + ln tf`) pairs, one per distinct bucket.
fn push_counts(sorted: &[u32], out: &mut Vec<(u32, f32)>) {
    let mut i = 0;
    while i < sorted.len() {
        let bucket = sorted[i];
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == bucket {
            j += 1;
        }
        out.push((bucket, 1.0 + ((j - i) as f32).ln()));
        i = j;
    }
}

fn normalise(v: &mut [(u32, f32)]) {
    let norm = v.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        for p in v.iter_mut() {
            p.1 /= norm;
        }
    }
}

/// Hashes the text in `s` into `s.feats`: (bucket, sublinear tf) pairs, word block then char block, each sorted.
/// Returns where the char block starts.
fn extract(s: &mut Scratch, bits: u32, bigrams: bool, char_min: usize, char_max: usize) -> usize {
    let mask = (1u64 << bits) - 1;
    // Buckets alone (plain u32s sort faster than pairs), then counted.
    let (mut words, mut chars) = (std::mem::take(&mut s.word_buckets), std::mem::take(&mut s.char_buckets));
    words.clear();
    chars.clear();
    for_each_feature(s, bigrams, char_min, char_max, |is_char, h, _| {
        if is_char { &mut chars } else { &mut words }.push((h & mask) as u32);
    });
    words.sort_unstable();
    chars.sort_unstable();
    s.feats.clear();
    push_counts(&words, &mut s.feats);
    let split = s.feats.len();
    push_counts(&chars, &mut s.feats);
    (s.word_buckets, s.char_buckets) = (words, chars);
    split
}

/// A sparse training vector over slots.
pub(crate) type Sparse = Vec<(u32, f32)>;

/// Seeded splitmix64, for the coordinate order.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        finish(self.0)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// The training rows [`train_svm`] reads, without copying them: sparse n-gram vectors, dense embeddings, or a subset
/// of either.
pub(crate) trait SvmRows {
    fn rows(&self) -> usize;
    /// `w · x_i`.
    fn dot(&self, i: usize, w: &[f64]) -> f64;
    /// `w += d · x_i`.
    fn add_to(&self, i: usize, d: f64, w: &mut [f64]);
    /// `‖x_i‖²`.
    fn sq_norm(&self, i: usize) -> f64;
}

impl SvmRows for [Sparse] {
    fn rows(&self) -> usize {
        self.len()
    }
    fn dot(&self, i: usize, w: &[f64]) -> f64 {
        self[i].iter().map(|&(j, v)| w[j as usize] * v as f64).sum()
    }
    fn add_to(&self, i: usize, d: f64, w: &mut [f64]) {
        for &(j, v) in &self[i] {
            w[j as usize] += d * v as f64;
        }
    }
    fn sq_norm(&self, i: usize) -> f64 {
        self[i].iter().map(|p| (p.1 as f64).powi(2)).sum()
    }
}

/// Dense rows of `dim` values each, one after the other (the semantic model's embeddings).
pub(crate) struct DenseRows<'a> {
    pub(crate) values: &'a [f32],
    pub(crate) dim: usize,
}

impl DenseRows<'_> {
    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

impl SvmRows for DenseRows<'_> {
    fn rows(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }
    /// Over four running sums, so that the additions do not wait on each other (this dot product is most of the
    /// semantic model's training time).
    fn dot(&self, i: usize, w: &[f64]) -> f64 {
        let x = self.row(i);
        let w = &w[..x.len()];
        let mut acc = [0.0f64; 4];
        let (xc, wc) = (x.chunks_exact(4), w.chunks_exact(4));
        let tail: f64 = xc.remainder().iter().zip(wc.remainder()).map(|(x, w)| w * *x as f64).sum();
        for (x, w) in xc.zip(wc) {
            for k in 0..4 {
                acc[k] += w[k] * x[k] as f64;
            }
        }
        acc.iter().sum::<f64>() + tail
    }
    fn add_to(&self, i: usize, d: f64, w: &mut [f64]) {
        for (w, &x) in w.iter_mut().zip(self.row(i)) {
            *w += d * x as f64;
        }
    }
    fn sq_norm(&self, i: usize) -> f64 {
        self.row(i).iter().map(|&x| (x as f64).powi(2)).sum()
    }
}

/// The rows of `rows` named by `idx`, in that order.
pub(crate) struct Subset<'a, R: SvmRows + ?Sized> {
    rows: &'a R,
    idx: &'a [usize],
}

impl<R: SvmRows + ?Sized> SvmRows for Subset<'_, R> {
    fn rows(&self) -> usize {
        self.idx.len()
    }
    fn dot(&self, i: usize, w: &[f64]) -> f64 {
        self.rows.dot(self.idx[i], w)
    }
    fn add_to(&self, i: usize, d: f64, w: &mut [f64]) {
        self.rows.add_to(self.idx[i], d, w)
    }
    fn sq_norm(&self, i: usize) -> f64 {
        self.rows.sq_norm(self.idx[i])
    }
}

/// L2-regularised squared-hinge SVM by dual coordinate descent (liblinear's `L2R_L2LOSS_SVC_DUAL`), with a
/// regularised bias feature of value 1. `cost[i]` is the per-example C. Returns (weights over `dim` slots, bias).
pub(crate) fn train_svm<R: SvmRows + ?Sized>(
    xs: &R,
    y: &[f64],
    cost: &[f64],
    dim: usize,
    opts: &TrainOptions,
    rng: &mut Rng,
) -> (Vec<f64>, f64) {
    let n = xs.rows();
    let mut w = vec![0.0f64; dim];
    let mut b = 0.0f64;
    let mut alpha = vec![0.0f64; n];
    let diag: Vec<f64> = cost.iter().map(|&c| 0.5 / c).collect();
    let qd: Vec<f64> = diag.iter().enumerate().map(|(i, d)| 1.0 + d + xs.sq_norm(i)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    // Shrinking (as in LIBLINEAR): an example at alpha = 0 whose gradient is above the largest projected gradient
    // of the previous pass will stay at 0, so it leaves the active set; when the active set has converged, every
    // example is checked once more before stopping. Same optimum, a fraction of the passes. (With no upper bound on
    // alpha in the squared-hinge dual, only the lower side shrinks.)
    let mut active = n;
    let mut pg_max_old = f64::INFINITY;
    for _ in 0..opts.max_passes {
        rng.shuffle(&mut order[..active]);
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        let mut s = 0;
        while s < active {
            let i = order[s];
            let margin = b + xs.dot(i, &w);
            let g = y[i] * margin - 1.0 + diag[i] * alpha[i];
            let pg = if alpha[i] == 0.0 {
                if g > pg_max_old {
                    active -= 1;
                    order.swap(s, active);
                    continue;
                }
                g.min(0.0)
            } else {
                g
            };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * y[i];
                b += d;
                xs.add_to(i, d, &mut w);
            }
            s += 1;
        }
        if pg_max - pg_min < opts.tolerance {
            if active == n {
                break;
            }
            active = n;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f64::INFINITY } else { pg_max };
    }
    (w, b)
}

impl TextModel {
    /// Trains on `(text, label)` pairs. Deterministic: the same examples and options give the same model. With no
    /// examples the model knows no labels and predicts nothing; with one label it always predicts that label.
    pub fn train(examples: &[(String, String)], opts: &TrainOptions) -> TextModel {
        TextModel::train_grouped(examples, &[], opts)
    }

    /// [`TextModel::train`] where `groups[i]` is the group of example `i` and each label is told apart only from the
    /// other labels of its group (the group of its first example): for a model that is only ever asked to choose
    /// within a group ([`TextModel::probs_among`]), the same job at a fraction of the cost. Empty `groups`: one group.
    pub fn train_grouped(examples: &[(String, String)], groups: &[usize], opts: &TrainOptions) -> TextModel {
        let hash_bits = opts.hash_bits.clamp(8, 24);
        let labels: Vec<String> =
            examples.iter().map(|e| e.1.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let k = labels.len();
        let y_idx: Vec<usize> = examples.iter().map(|e| labels.binary_search(&e.1).unwrap_or(0)).collect();
        let char_max = opts.char_max.max(1);
        let char_min = opts.char_min.clamp(1, char_max);

        // Raw features per example, and document frequencies per bucket.
        let mut s = Scratch::default();
        let mut raw: Vec<(Sparse, usize)> = Vec::with_capacity(examples.len());
        let mut df: BTreeMap<u32, u32> = BTreeMap::new();
        for (text, _) in examples {
            tokenise(text, &mut s);
            let split = extract(&mut s, hash_bits, opts.word_bigrams, char_min, char_max);
            let mut seen: Vec<u32> = s.feats.iter().map(|p| p.0).collect();
            seen.sort_unstable();
            seen.dedup();
            for b in seen {
                *df.entry(b).or_default() += 1;
            }
            raw.push((s.feats.clone(), split));
        }
        let n = examples.len() as f64;
        let dim = df.len();
        let mut slot = vec![0u32; 1usize << hash_bits];
        let mut idf = Vec::with_capacity(dim);
        for (i, (&bucket, &d)) in df.iter().enumerate() {
            slot[bucket as usize] = i as u32 + 1;
            idf.push((((1.0 + n) / (1.0 + d as f64)).ln() + 1.0) as f32);
        }
        let xs: Vec<Sparse> = raw
            .into_iter()
            .map(|(mut v, split)| {
                for p in v.iter_mut() {
                    p.0 = slot[p.0 as usize] - 1;
                    p.1 *= idf[p.0 as usize];
                }
                let (words, chars) = v.split_at_mut(split);
                normalise(words);
                normalise(chars);
                if !words.is_empty() && !chars.is_empty() {
                    v.iter_mut().for_each(|p| p.1 *= std::f32::consts::FRAC_1_SQRT_2);
                }
                // The two blocks may share a slot after hashing; the SVM copes with repeated indices.
                v
            })
            .collect();

        let mut rows = vec![0.0f32; dim * (k + 1)];
        for (i, v) in idf.iter().enumerate() {
            rows[i * (k + 1)] = *v;
        }
        let mut bias = vec![0.0f32; k];
        let mut counts = vec![0usize; k];
        for &l in &y_idx {
            counts[l] += 1;
        }
        if k >= 2 {
            let mut rng = Rng(opts.seed);
            let mix = opts.nb_mix.clamp(0.0, 1.0);
            let group_of = |i: usize| groups.get(i).copied().unwrap_or(0);
            let mut label_group = vec![usize::MAX; k];
            for (i, &l) in y_idx.iter().enumerate() {
                if label_group[l] == usize::MAX {
                    label_group[l] = group_of(i);
                }
            }
            for (label, &count) in counts.iter().enumerate() {
                let group = label_group[label];
                let members: Vec<usize> = (0..xs.len()).filter(|&i| group_of(i) == group).collect();
                let group_labels = label_group.iter().filter(|&&g| g == group).count();
                if group_labels < 2 {
                    continue;
                }
                let y: Vec<f64> = members.iter().map(|&i| if y_idx[i] == label { 1.0 } else { -1.0 }).collect();
                let pos_weight =
                    if opts.balanced { members.len() as f64 / (group_labels as f64 * count as f64) } else { 1.0 };
                let cost_for = |c: f64| -> Vec<f64> {
                    y.iter().map(|&t| if t > 0.0 { c * pos_weight } else { c }.max(1e-9)).collect()
                };
                let mut w_label = vec![0.0f64; dim];
                let mut b_label = 0.0;
                if mix < 1.0 {
                    let rows = Subset { rows: &xs[..], idx: &members };
                    let (w, b) = train_svm(&rows, &y, &cost_for(opts.c_svm), dim, opts, &mut rng);
                    w_label.iter_mut().zip(&w).for_each(|(a, w)| *a += (1.0 - mix) * w);
                    b_label += (1.0 - mix) * b;
                }
                if mix > 0.0 {
                    // Naive-Bayes log-count ratios over feature presence.
                    let a = opts.nb_alpha.max(1e-9);
                    let mut p = vec![a; dim];
                    let mut q = vec![a; dim];
                    for (&i, &t) in members.iter().zip(&y) {
                        let target = if t > 0.0 { &mut p } else { &mut q };
                        for &(j, v) in &xs[i] {
                            if v > 0.0 {
                                target[j as usize] += 1.0;
                            }
                        }
                    }
                    let (ps, qs) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
                    let r: Vec<f64> = p.iter().zip(&q).map(|(p, q)| ((p / ps) / (q / qs)).ln()).collect();
                    let scaled: Vec<Sparse> = members
                        .iter()
                        .map(|&i| xs[i].iter().map(|&(j, v)| (j, (v as f64 * r[j as usize]) as f32)).collect())
                        .collect();
                    let (w, b) = train_svm(&scaled[..], &y, &cost_for(opts.c_nb), dim, opts, &mut rng);
                    w_label.iter_mut().zip(w.iter().zip(&r)).for_each(|(a, (w, r))| *a += mix * w * r);
                    b_label += mix * b;
                }
                for (i, w) in w_label.iter().enumerate() {
                    rows[i * (k + 1) + 1 + label] = *w as f32;
                }
                bias[label] = b_label as f32;
            }
        }
        TextModel {
            labels,
            hash_bits,
            char_min,
            char_max,
            word_bigrams: opts.word_bigrams,
            temperature: opts.temperature.max(1e-6),
            slot,
            rows,
            bias,
        }
    }

    /// The labels the model knows, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Fills `s.scores` with the raw margin per label (in `labels` order). Leaves the weighted features of the
    /// text in `s.feats` as (slot row, value) pairs. Returns the feature coverage of the text.
    fn margins(&self, text: &str, s: &mut Scratch) -> Coverage {
        let k = self.labels.len();
        s.scores.clear();
        s.scores.extend(self.bias.iter().map(|&b| b as f64));
        if k < 2 {
            return Coverage::default();
        }
        let coverage = self.weighted_features(text, s);
        let stride = k + 1;
        // Summed in f32 (the weights' own precision), which the compiler vectorises over the labels.
        s.sums.clear();
        s.sums.resize(k, 0.0);
        for &(row, v) in s.feats.iter() {
            let base = row as usize * stride + 1;
            for (sum, w) in s.sums.iter_mut().zip(&self.rows[base..base + k]) {
                *sum += v * *w;
            }
        }
        for (score, &sum) in s.scores.iter_mut().zip(&s.sums) {
            *score += sum as f64;
        }
        coverage
    }

    /// Probabilities of the labels `among` (indices into [`TextModel::labels`]) relative to each other, in that
    /// order: the same as [`TextModel::scores`] restricted to them and renormalised, at the cost of those labels
    /// only. Empty when the model has fewer than two labels or `among` is empty.
    pub fn probs_among(&self, text: &str, among: &[usize]) -> Vec<f64> {
        let k = self.labels.len();
        if k < 2 || among.is_empty() {
            return vec![];
        }
        SCRATCH.with(|cell| {
            let mut s = cell.borrow_mut();
            self.weighted_features(text, &mut s);
            let stride = k + 1;
            let mut scores: Vec<f64> = among.iter().map(|&l| self.bias.get(l).copied().unwrap_or(0.0) as f64).collect();
            for &(row, v) in s.feats.iter() {
                let base = row as usize * stride + 1;
                for (score, &l) in scores.iter_mut().zip(among) {
                    *score += v as f64 * self.rows[base + l.min(k - 1)] as f64;
                }
            }
            self.softmax(&mut scores);
            scores
        })
    }

    /// Leaves the text's features in `s.feats` as (slot row, value) pairs, weighted by idf, normalised per block and
    /// scaled for the two blocks; drops buckets unseen in training. Returns the feature coverage of the text.
    fn weighted_features(&self, text: &str, s: &mut Scratch) -> Coverage {
        let k = self.labels.len();
        let setting = (self.hash_bits, self.word_bigrams, self.char_min, self.char_max);
        // Only the bounded prefix is read, so only it is compared and kept.
        let text = prefix(text, MAX_MODEL_BYTES);
        let split = match s.last.take() {
            Some(e) if e.setting == setting && e.text == text => {
                s.feats.clear();
                s.feats.extend_from_slice(&e.feats);
                let split = e.split;
                s.last = Some(e);
                split
            }
            old => {
                tokenise(text, s);
                let split = extract(s, self.hash_bits, self.word_bigrams, self.char_min, self.char_max);
                let mut e = old.unwrap_or(Extracted { text: String::new(), setting, feats: vec![], split });
                e.text.clear();
                e.text.push_str(text);
                e.setting = setting;
                e.feats.clear();
                e.feats.extend_from_slice(&s.feats);
                e.split = split;
                s.last = Some(e);
                split
            }
        };
        // Map to rows, weight by idf and drop buckets unseen in training.
        let stride = k + 1;
        let mut kept_split = 0;
        let mut out = 0;
        for i in 0..s.feats.len() {
            if i == split {
                kept_split = out;
            }
            let (bucket, tf) = s.feats[i];
            let row = self.slot[bucket as usize];
            if row != 0 {
                let row = row - 1;
                s.feats[out] = (row, tf * self.rows[row as usize * stride]);
                out += 1;
            }
        }
        if split >= s.feats.len() {
            kept_split = out;
        }
        let coverage = Coverage {
            words: split.min(s.feats.len()),
            known_words: kept_split,
            chars: s.feats.len() - split.min(s.feats.len()),
            known_chars: out - kept_split,
        };
        s.feats.truncate(out);
        let (words, chars) = s.feats.split_at_mut(kept_split);
        normalise(words);
        normalise(chars);
        let both = if !words.is_empty() && !chars.is_empty() { std::f32::consts::FRAC_1_SQRT_2 } else { 1.0 };
        if both != 1.0 {
            s.feats.iter_mut().for_each(|p| p.1 *= both);
        }
        coverage
    }

    /// Softmax of the margins in `s.scores`, in place.
    fn softmax(&self, scores: &mut [f64]) {
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for v in scores.iter_mut() {
            *v = ((*v - max) / self.temperature).exp();
            sum += *v;
        }
        for v in scores.iter_mut() {
            *v /= sum;
        }
    }

    /// A probability-like score per label (between 0 and 1, summing to 1), best first; ties keep label order.
    /// Empty when the model knows no labels. Never panics; only the first [`MAX_MODEL_BYTES`] are read.
    pub fn predict(&self, text: &str) -> Vec<(String, f64)> {
        SCRATCH.with(|cell| {
            let mut s = cell.borrow_mut();
            self.margins(text, &mut s);
            self.softmax(&mut s.scores);
            let mut out: Vec<(String, f64)> = self.labels.iter().zip(&s.scores).map(|(l, &p)| (l.clone(), p)).collect();
            out.sort_by(|a, b| b.1.total_cmp(&a.1));
            out
        })
    }

    /// Probabilities in [`TextModel::labels`] order (not sorted), with how much of the text the model knows.
    /// Empty probabilities when the model knows no labels; `[1.0]` with one label.
    pub fn scores(&self, text: &str) -> Scores {
        SCRATCH.with(|cell| {
            let mut s = cell.borrow_mut();
            let coverage = self.margins(text, &mut s);
            self.softmax(&mut s.scores);
            Scores { probs: s.scores.clone(), coverage }
        })
    }

    /// The best label and its probability, without allocating. `None` when the model knows no labels.
    pub fn best(&self, text: &str) -> Option<(&str, f64)> {
        SCRATCH.with(|cell| {
            let mut s = cell.borrow_mut();
            self.margins(text, &mut s);
            self.softmax(&mut s.scores);
            let (i, p) = s.scores.iter().enumerate().fold(None, |best: Option<(usize, f64)>, (i, &p)| match best {
                Some((_, bp)) if bp >= p => best,
                _ => Some((i, p)),
            })?;
            Some((self.labels[i].as_str(), p))
        })
    }

    /// The `k` features of `text` that push it most towards `label`, largest contribution first, as
    /// (`"w:word"`, `"w:two words"` or `"c:[ ab]"` for a character n-gram with its boundary spaces, contribution
    /// to the margin). Features unseen in training are left out. Empty for an unknown label.
    pub fn explain(&self, text: &str, label: &str, k: usize) -> Vec<(String, f64)> {
        let Some(li) = self.labels.iter().position(|l| l == label) else {
            return vec![];
        };
        let nl = self.labels.len();
        let mut s = Scratch::default();
        self.margins(text, &mut s);
        let value: BTreeMap<u32, f32> = s.feats.iter().fold(BTreeMap::new(), |mut m, &(row, v)| {
            *m.entry(row).or_default() += v;
            m
        });
        // Bucket values are shared by every feature hashed there; name each distinct feature once.
        tokenise(text, &mut s);
        let mask = (1u64 << self.hash_bits) - 1;
        let mut named: BTreeMap<String, f64> = BTreeMap::new();
        for_each_feature(&s, self.word_bigrams, self.char_min, self.char_max, |_, h, f| {
            let row = self.slot[(h & mask) as usize];
            if row == 0 {
                return;
            }
            let row = row - 1;
            let contribution =
                value.get(&row).copied().unwrap_or(0.0) as f64 * self.rows[row as usize * (nl + 1) + 1 + li] as f64;
            let word = |i: usize| s.chars[s.words[i].0..s.words[i].1].iter().collect::<String>();
            let name = match f {
                Feature::Word(i) => format!("w:{}", word(i)),
                Feature::Bigram(i) => format!("w:{} {}", word(i), word(i + 1)),
                Feature::Chars { word: i, start, n } => {
                    let padded: Vec<char> = std::iter::once(' ').chain(word(i).chars()).chain([' ']).collect();
                    format!("c:[{}]", padded[start..start + n].iter().collect::<String>())
                }
            };
            named.insert(name, contribution);
        });
        let mut out: Vec<(String, f64)> = named.into_iter().filter(|p| p.1 != 0.0).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(t, l)| (t.to_string(), l.to_string())).collect()
    }

    fn toy() -> Vec<(String, String)> {
        ex(&[
            ("printer is jammed", "printing"),
            ("cannot print to the office printer", "printing"),
            ("printer out of toner", "printing"),
            ("scanner not working", "printing"),
            ("forgot my password", "identity"),
            ("password reset please", "identity"),
            ("account locked out", "identity"),
            ("need mfa reset on my account", "identity"),
            ("wifi keeps dropping", "network"),
            ("vpn will not connect", "network"),
            ("no internet on the wifi", "network"),
            ("vpn disconnects every hour", "network"),
        ])
    }

    fn top(m: &TextModel, text: &str) -> String {
        m.predict(text)[0].0.clone()
    }

    #[test]
    fn learns_a_separable_toy_set() {
        let m = TextModel::train(&toy(), &TrainOptions::default());
        assert_eq!(m.labels(), ["identity", "network", "printing"]);
        for (text, label) in toy() {
            assert_eq!(top(&m, &text), label, "training example {text:?}");
        }
        assert_eq!(top(&m, "the printer on floor 3 is jammed again"), "printing");
        assert_eq!(top(&m, "reset my password"), "identity");
        assert_eq!(top(&m, "VPN not connecting"), "network");
        assert_eq!(m.best("Wifi down").map(|b| b.0), Some("network"));
        let p = m.predict("printer jammed");
        assert!(p[0].1 > 0.6, "confident on a clear case: {p:?}");
    }

    #[test]
    fn training_is_deterministic() {
        let a = TextModel::train(&toy(), &TrainOptions::default());
        let b = TextModel::train(&toy(), &TrainOptions::default());
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.bias, b.bias);
        assert_eq!(a.predict("printer password vpn"), b.predict("printer password vpn"));
    }

    #[test]
    fn one_group_is_the_same_as_no_groups() {
        let a = TextModel::train(&toy(), &TrainOptions::default());
        let b = TextModel::train_grouped(&toy(), &vec![7; toy().len()], &TrainOptions::default());
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.bias, b.bias);
    }

    #[test]
    fn grouped_labels_are_trained_against_their_group_only() {
        // printing and identity in one group, network alone in another: network is never trained (it has no
        // rival), and the printing/identity weights are those of a model that never saw the network examples
        // except through the shared vocabulary.
        let examples = toy();
        let groups: Vec<usize> = examples.iter().map(|e| usize::from(e.1 == "network")).collect();
        let m = TextModel::train_grouped(&examples, &groups, &TrainOptions::default());
        let k = m.labels().len();
        let net = m.labels().iter().position(|l| l == "network").unwrap();
        assert!((0..m.rows.len() / (k + 1)).all(|row| m.rows[row * (k + 1) + 1 + net] == 0.0));
        assert_eq!(m.bias[net], 0.0);
        let label = |name: &str| m.labels().iter().position(|l| l == name).unwrap();
        let among = [label("printing"), label("identity")];
        let p = m.probs_among("the printer is out of toner", &among);
        assert!(p[0] > 0.6, "{p:?}");
        let flat = TextModel::train(&examples, &TrainOptions::default());
        assert_ne!(flat.rows, m.rows, "the grouping changed what the other labels were trained against");
    }

    #[test]
    fn dense_rows_train_the_same_svm_as_sparse_ones() {
        let dense: Vec<f32> = (0..40).map(|i| ((i * 7919 % 23) as f32 - 11.0) / 11.0).collect();
        let sparse: Vec<Sparse> =
            dense.chunks(5).map(|r| r.iter().enumerate().map(|(j, &v)| (j as u32, v)).collect()).collect();
        let y: Vec<f64> = (0..8).map(|i| if i % 3 == 0 { 1.0 } else { -1.0 }).collect();
        let cost = vec![1.0; 8];
        let opts = TrainOptions::default();
        let (wd, bd) = train_svm(&DenseRows { values: &dense, dim: 5 }, &y, &cost, 5, &opts, &mut Rng(1));
        let (ws, bs) = train_svm(&sparse[..], &y, &cost, 5, &opts, &mut Rng(1));
        assert!((bd - bs).abs() < 1e-9 && wd.iter().zip(&ws).all(|(a, b)| (a - b).abs() < 1e-9), "{wd:?} {ws:?}");
        assert!(wd.iter().any(|w| w.abs() > 1e-3), "the toy problem is not trivial");
        let idx = [0, 2, 4, 6];
        let sub = Subset { rows: &sparse[..], idx: &idx };
        let picked: Vec<Sparse> = idx.iter().map(|&i| sparse[i].clone()).collect();
        let y4 = [1.0, -1.0, -1.0, 1.0];
        assert_eq!(
            train_svm(&sub, &y4, &cost[..4], 5, &opts, &mut Rng(2)),
            train_svm(&picked[..], &y4, &cost[..4], 5, &opts, &mut Rng(2))
        );
    }

    #[test]
    fn probabilities_sum_to_one_and_are_sorted() {
        let m = TextModel::train(&toy(), &TrainOptions::default());
        for text in ["printer", "", "完全に無関係なテキスト", "vpn and password and printer"] {
            let p = m.predict(text);
            assert_eq!(p.len(), 3);
            let sum: f64 = p.iter().map(|x| x.1).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{text:?}: {p:?}");
            assert!(p.iter().all(|x| (0.0..=1.0).contains(&x.1)));
            assert!(p.windows(2).all(|w| w[0].1 >= w[1].1), "{p:?}");
        }
    }

    #[test]
    fn degenerate_input_does_not_panic() {
        let m = TextModel::train(&toy(), &TrainOptions::default());
        let huge = "printer ".repeat(100_000 / 8) + "é";
        let mixed = "Принтер не печатает 打印机 ✨ printer 🖨️";
        for text in ["", "   ", "🙂🙂🙂", "!!!???", "\u{0}\u{200d}", "é", mixed, huge.as_str()] {
            let p = m.predict(text);
            assert_eq!(p.len(), 3, "{text:?}");
            assert!(p.iter().all(|x| x.1.is_finite()));
            let _ = m.explain(text, "printing", 5);
        }
        assert_eq!(top(&m, &huge), "printing");
        // A prefix cut inside a multi-byte char must not panic.
        let cut = "é".repeat(MAX_MODEL_BYTES);
        assert_eq!(m.predict(&cut).len(), 3);
        // Empty text: no features, so only the biases speak; still a distribution.
        let empty = m.predict("");
        assert!((empty.iter().map(|x| x.1).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_training_sets() {
        let none = TextModel::train(&[], &TrainOptions::default());
        assert!(none.predict("printer").is_empty());
        assert!(none.best("printer").is_none());
        let one = TextModel::train(&ex(&[("printer", "printing"), ("", "printing")]), &TrainOptions::default());
        assert_eq!(one.predict("anything"), vec![("printing".to_string(), 1.0)]);
        let blank = TextModel::train(&ex(&[("", "a"), ("🙂", "b"), ("", "b")]), &TrainOptions::default());
        let p = blank.predict("");
        assert_eq!(p.len(), 2);
        assert!((p[0].1 + p[1].1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn explain_names_the_features_that_matter() {
        let m = TextModel::train(&toy(), &TrainOptions::default());
        let e = m.explain("my printer is jammed", "printing", 5);
        assert_eq!(e.len(), 5);
        assert!(e.windows(2).all(|w| w[0].1 >= w[1].1), "{e:?}");
        assert!(e.iter().any(|(f, _)| f == "w:printer" || f.contains("print")), "{e:?}");
        assert!(e[0].1 > 0.0);
        assert!(m.explain("my printer", "nope", 5).is_empty());
    }

    #[test]
    fn tokeniser_splits_words_symbols_and_scripts() {
        let mut s = Scratch::default();
        tokenise("Hello, WORLD 🙂 東京!", &mut s);
        let words: Vec<String> = s.words.iter().map(|&(a, b)| s.chars[a..b].iter().collect()).collect();
        assert_eq!(words, ["hello", "world", "🙂", "東京"]);
        assert_eq!(prefix("aé", 2), "a");
    }
}
