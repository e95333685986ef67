//! The semantic second opinion of triage: a linear model over static sentence embeddings ([`super::embed`]), so
//! that "won't switch on" and "does not boot" land together although they share no word. No I/O.
//!
//! One squared-hinge SVM per label (one-vs-rest, the same solver as [`super::model`]) on the L2-normalised mean of
//! a message's token vectors; margins become probabilities by a softmax with a temperature. Triage averages them
//! with the n-gram model's.

use super::embed::StaticEmbeddings;
use super::model::{DenseRows, Rng, TrainOptions, train_svm};
use std::cell::RefCell;

/// A trained semantic model. Its labels are sorted, like [`super::model::TextModel`]'s, so the two line up.
#[derive(Debug, Clone)]
pub struct SemanticModel {
    labels: Vec<String>,
    emb: &'static StaticEmbeddings,
    /// `weights[label * dim + d]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    temperature: f64,
}

/// SVM cost on the embedding features (they are dense and normalised, so a larger C than the n-gram model's).
const C_SEMANTIC: f64 = 3.0;
/// Softmax temperature on the margins.
const TEMPERATURE: f64 = 0.5;

thread_local! {
    static VEC: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `a · b` in f32 over eight running sums, so that the compiler can keep them in one vector register.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

impl SemanticModel {
    /// Trains on `(text, label)` pairs with the given table. Deterministic. Examples with no known token are left out.
    pub fn train(examples: &[(String, String)], emb: &'static StaticEmbeddings) -> SemanticModel {
        let labels: Vec<String> =
            examples.iter().map(|e| e.1.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let k = labels.len();
        let dim = emb.dim();
        let mut values: Vec<f32> = Vec::with_capacity(examples.len() * dim);
        let mut ys: Vec<usize> = Vec::with_capacity(examples.len());
        let mut v = vec![0.0f32; dim];
        for (text, label) in examples {
            if emb.embed_into(text, &mut v) == 0 {
                continue;
            }
            values.extend_from_slice(&v);
            ys.push(labels.binary_search(label).unwrap_or(0));
        }
        let mut weights = vec![0.0f32; k * dim];
        let mut bias = vec![0.0f32; k];
        let xs = DenseRows { values: &values, dim };
        if k >= 2 && !ys.is_empty() {
            let opts = TrainOptions::default();
            let mut rng = Rng(opts.seed);
            let n = ys.len() as f64;
            for label in 0..k {
                let count = ys.iter().filter(|&&l| l == label).count().max(1);
                let pos_weight = n / (k as f64 * count as f64);
                let y: Vec<f64> = ys.iter().map(|&l| if l == label { 1.0 } else { -1.0 }).collect();
                let cost: Vec<f64> =
                    y.iter().map(|&t| if t > 0.0 { C_SEMANTIC * pos_weight } else { C_SEMANTIC }).collect();
                let (w, b) = train_svm(&xs, &y, &cost, dim, &opts, &mut rng);
                for (d, w) in w.iter().enumerate() {
                    weights[label * dim + d] = *w as f32;
                }
                bias[label] = b as f32;
            }
        }
        SemanticModel { labels, emb, weights, bias, temperature: TEMPERATURE }
    }

    /// The labels, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Probabilities in [`SemanticModel::labels`] order, or `None` when the text has no token the table knows or
    /// the model has fewer than two labels.
    pub fn probs(&self, text: &str) -> Option<Vec<f64>> {
        let k = self.labels.len();
        if k < 2 {
            return None;
        }
        let dim = self.emb.dim();
        VEC.with(|cell| {
            let mut v = cell.borrow_mut();
            v.resize(dim, 0.0);
            if self.emb.embed_into(text, &mut v) == 0 {
                return None;
            }
            let mut scores: Vec<f64> = (0..k)
                .map(|l| {
                    let w = &self.weights[l * dim..(l + 1) * dim];
                    self.bias[l] as f64 + dot(w, &v) as f64
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = ((*s - max) / self.temperature).exp();
                sum += *s;
            }
            scores.iter_mut().for_each(|s| *s /= sum);
            Some(scores)
        })
    }
}
