//! The few-shot linear probe of the CLIP paper (§3.2), made into a feature:
//! people mark a few photos "yes" or "no" and a logistic regression on their
//! stored embeddings moves the album's boundary, starting from the prompts'.
//!
//! The model is `P(member | x) = σ(s·(v·x − t))` over a normalised embedding
//! `x`, with `v` a vector and `t` a threshold in cosine units (`s` fixes the
//! sharpness, [`SCALE`]). The prompts' vector and threshold are the prior:
//! the loss is the class-balanced log-loss of the marks plus
//! `λ/2·(|v − v₀|² + (t − t₀)²)`, so no mark gives back the prompts' album
//! exactly, a few marks bend it, and many marks outweigh it. The loss is
//! strictly convex; Newton's method with conjugate-gradient steps (the Hessian
//! is `λI` plus one rank-one term a mark, so CG is exact in `marks + 1` steps)
//! finds its minimum in a few iterations.
//!
//! `v·x ≥ t` is `(v/|v|)·x ≥ t/|v|`: the fitted probe is again a unit vector
//! and a cosine threshold, so membership stays one thresholded vector search
//! on every home.

/// Sharpness of the logistic, per unit of cosine: a photo 0.05 past the
/// boundary is a member with odds e^2.5.
pub const SCALE: f64 = 50.0;

/// Weight of the prior (λ), against marks whose weights sum to one per class.
/// Measured on constructed data (tests/albums.rs): 8 + 8 marks then move the
/// boundary decisively, one mark moves it a little.
pub const PRIOR_WEIGHT: f64 = 0.02;

/// A fitted probe: a unit vector and a cosine threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub vector: Vec<f32>,
    pub threshold: f32,
}

/// Fits the probe on `examples` (embedding, belongs), starting from and pulled
/// toward `prior` and `prior_threshold`. Without examples it is the prior.
pub fn fit(prior: &[f32], prior_threshold: f32, examples: &[(&[f32], bool)]) -> Probe {
    let d = prior.len();
    let usable: Vec<(&[f32], bool)> = examples
        .iter()
        .copied()
        .filter(|(x, _)| x.len() == d)
        .collect();
    if usable.is_empty() || d == 0 {
        return Probe {
            vector: prior.to_vec(),
            threshold: prior_threshold,
        };
    }
    let yes = usable.iter().filter(|e| e.1).count();
    let no = usable.len() - yes;
    // Each class weighs one half, however many marks it has.
    let weight = |belongs: bool| 0.5 / (if belongs { yes } else { no }) as f64;
    // θ = (v, t); a mark's feature is (x, −1), so θ·x̃ = v·x − t.
    let theta0: Vec<f64> = prior
        .iter()
        .map(|&v| v as f64)
        .chain([prior_threshold as f64])
        .collect();
    let feats: Vec<(Vec<f64>, f64, f64)> = usable
        .iter()
        .map(|(x, y)| {
            let f: Vec<f64> = x.iter().map(|&v| v as f64).chain([-1.0]).collect();
            (f, f64::from(u8::from(*y)), weight(*y))
        })
        .collect();
    let lambda = PRIOR_WEIGHT;
    let loss = |theta: &[f64]| -> f64 {
        let data: f64 = feats
            .iter()
            .map(|(f, y, w)| {
                let z = SCALE * dot(theta, f);
                w * (softplus(z) - y * z)
            })
            .sum();
        let reg: f64 = theta
            .iter()
            .zip(&theta0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        data + 0.5 * lambda * reg
    };
    let mut theta = theta0.clone();
    for _ in 0..50 {
        // Gradient and the Hessian's per-mark curvature at θ.
        let mut grad: Vec<f64> = theta
            .iter()
            .zip(&theta0)
            .map(|(a, b)| lambda * (a - b))
            .collect();
        let mut curv = Vec::with_capacity(feats.len());
        for (f, y, w) in &feats {
            let p = sigmoid(SCALE * dot(&theta, f));
            axpy(&mut grad, w * SCALE * (p - y), f);
            curv.push(w * SCALE * SCALE * p * (1.0 - p));
        }
        let gnorm = dot(&grad, &grad).sqrt();
        if gnorm < 1e-10 {
            break;
        }
        let hess = |u: &[f64]| -> Vec<f64> {
            let mut out: Vec<f64> = u.iter().map(|&v| lambda * v).collect();
            for ((f, _, _), c) in feats.iter().zip(&curv) {
                axpy(&mut out, c * dot(f, u), f);
            }
            out
        };
        let minus_g: Vec<f64> = grad.iter().map(|g| -g).collect();
        let step = conjugate_gradient(hess, &minus_g, feats.len() + 2);
        // Backtracking: Newton steps on a logistic loss can overshoot.
        let before = loss(&theta);
        let slope = dot(&grad, &step);
        let mut alpha = 1.0;
        let mut next = theta.clone();
        loop {
            next.iter_mut()
                .zip(theta.iter().zip(&step))
                .for_each(|(n, (t, s))| *n = t + alpha * s);
            if loss(&next) <= before + 1e-4 * alpha * slope || alpha < 1e-6 {
                break;
            }
            alpha *= 0.5;
        }
        let moved = alpha * dot(&step, &step).sqrt();
        theta = next;
        if moved < 1e-12 {
            break;
        }
    }
    let (v, t) = theta.split_at(d);
    let norm = dot(v, v).sqrt();
    if !norm.is_finite() || norm < 1e-9 {
        return Probe {
            vector: prior.to_vec(),
            threshold: prior_threshold,
        };
    }
    Probe {
        vector: v.iter().map(|&x| (x / norm) as f32).collect(),
        threshold: ((t[0] / norm).clamp(-1.0, 1.0)) as f32,
    }
}

/// Solves `A x = b` for a symmetric positive definite `A` given as a product.
fn conjugate_gradient(a: impl Fn(&[f64]) -> Vec<f64>, b: &[f64], steps: usize) -> Vec<f64> {
    let mut x = vec![0.0; b.len()];
    let mut r = b.to_vec();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    let stop = 1e-24 * rr.max(1e-300);
    for _ in 0..steps {
        if rr <= stop {
            break;
        }
        let ap = a(&p);
        let alpha = rr / dot(&p, &ap);
        axpy(&mut x, alpha, &p);
        axpy(&mut r, -alpha, &ap);
        let next = dot(&r, &r);
        let beta = next / rr;
        p.iter_mut().zip(&r).for_each(|(p, r)| *p = r + beta * *p);
        rr = next;
    }
    x
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::normalize as unit;

    #[test]
    fn no_marks_is_the_prior() {
        let p = unit(vec![1.0, 2.0, 3.0]);
        let probe = fit(&p, 0.25, &[]);
        assert_eq!(probe.vector, p);
        assert_eq!(probe.threshold, 0.25);
    }

    #[test]
    fn marks_land_on_their_side_of_the_boundary() {
        // Few marks against a weak prior: each lands on the side it was put.
        let p = unit(vec![1.0, 0.0, 0.0, 0.0]);
        let a = unit(vec![0.3, 1.0, 0.0, 0.0]);
        let b = unit(vec![0.3, -1.0, 0.2, 0.0]);
        let c = unit(vec![0.9, 0.1, 0.1, 0.4]);
        let probe = fit(&p, 0.2, &[(&a, true), (&c, true), (&b, false)]);
        let score = |x: &[f32]| -> f32 {
            x.iter().zip(&probe.vector).map(|(x, v)| x * v).sum::<f32>() - probe.threshold
        };
        assert!(score(&a) > 0.0, "a yes mark is inside: {}", score(&a));
        assert!(score(&c) > 0.0, "a yes mark is inside: {}", score(&c));
        assert!(score(&b) < 0.0, "a no mark is outside: {}", score(&b));
        let n: f32 = probe.vector.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-5);
    }

    #[test]
    fn one_mark_moves_the_boundary_toward_it() {
        let p = unit(vec![1.0, 0.0, 0.0]);
        let x = unit(vec![0.1, 1.0, 0.0]); // cosine 0.1 with the prompt
        let yes = fit(&p, 0.25, &[(&x, true)]);
        let no = fit(&p, 0.25, &[(&x, false)]);
        let s =
            |pr: &Probe| x.iter().zip(&pr.vector).map(|(a, b)| a * b).sum::<f32>() - pr.threshold;
        assert!(s(&yes) > 0.1 - 0.25, "a yes pulls the photo in");
        assert!(s(&no) < s(&yes));
    }

    #[test]
    fn softplus_and_sigmoid_are_stable() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }
}
