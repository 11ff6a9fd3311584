//! The models known to work with scry (`scry model list`): what each is, what
//! it costs, and under which licence its weights come.
//!
//! Speeds are measured, never estimated: on the project's 2-core Sapphire
//! Rapids VM (AVX-512, AMX), f32, with full-size random weights of the exact
//! architecture (the weights cannot be fetched there; speed does not depend on
//! their values), each beside PyTorch (transformers, 2 threads) in the same
//! run: `scripts/catalogue_bench.py` (images/s at batch 8; one short query,
//! scry's time including tokenization, PyTorch's from token ids) and
//! `scripts/parity_full.sh` (the multilingual tower). A model without a figure
//! loads and passes parity through its family but has not been timed at its
//! size.

/// What a model does for a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Embeds images and texts into one space: a library is indexed with it.
    ImageAndText,
    /// A text tower trained into another model's image space (`--text-model`):
    /// queries only, no re-indexing.
    TextFor(&'static [&'static str]),
}

/// One model of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Hugging Face repo id.
    pub id: &'static str,
    pub family: &'static str,
    pub role: Role,
    /// Embedding dimension.
    pub dim: usize,
    /// Input image side in pixels (image models).
    pub image_size: Option<usize>,
    pub languages: &'static str,
    /// Licence of the weights, as the repo states it.
    pub licence: &'static str,
    /// Images per second at batch 8, f32, on the reference machine.
    pub images_per_s: Option<f64>,
    /// PyTorch's images per second in the same run.
    pub torch_images_per_s: Option<f64>,
    /// Milliseconds to encode one short text query.
    pub text_ms: Option<f64>,
    /// PyTorch's milliseconds for the same query in the same run.
    pub torch_text_ms: Option<f64>,
}

const OPENAI_CLIP: &str = "OpenAI CLIP";
const OPEN_CLIP: &str = "LAION CLIP";
const SIGLIP2: &str = "SigLIP 2";
const SIGLIP: &str = "SigLIP";

/// The catalogue, image models first, the default first of all.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        id: "openai/clip-vit-base-patch32",
        family: OPENAI_CLIP,
        role: Role::ImageAndText,
        dim: 512,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(34.39),
        torch_images_per_s: Some(28.72),
        text_ms: Some(11.61),
        torch_text_ms: Some(16.09),
    },
    Entry {
        id: "openai/clip-vit-base-patch16",
        family: OPENAI_CLIP,
        role: Role::ImageAndText,
        dim: 512,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(7.74),
        torch_images_per_s: Some(7.06),
        text_ms: Some(12.88),
        torch_text_ms: Some(17.58),
    },
    Entry {
        id: "openai/clip-vit-large-patch14",
        family: OPENAI_CLIP,
        role: Role::ImageAndText,
        dim: 768,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(1.77),
        torch_images_per_s: Some(1.63),
        text_ms: Some(24.57),
        torch_text_ms: Some(37.09),
    },
    Entry {
        id: "openai/clip-vit-large-patch14-336",
        family: OPENAI_CLIP,
        role: Role::ImageAndText,
        dim: 768,
        image_size: Some(336),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(0.77),
        torch_images_per_s: Some(0.59),
        text_ms: Some(25.09),
        torch_text_ms: Some(38.78),
    },
    Entry {
        id: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        family: OPEN_CLIP,
        role: Role::ImageAndText,
        dim: 512,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(32.61),
        torch_images_per_s: Some(29.37),
        text_ms: Some(11.9),
        torch_text_ms: Some(16.79),
    },
    Entry {
        id: "laion/CLIP-ViT-L-14-laion2B-s32B-b82K",
        family: OPEN_CLIP,
        role: Role::ImageAndText,
        dim: 768,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(1.85),
        torch_images_per_s: Some(1.76),
        text_ms: Some(26.38),
        torch_text_ms: Some(39.64),
    },
    Entry {
        id: "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
        family: OPEN_CLIP,
        role: Role::ImageAndText,
        dim: 1024,
        image_size: Some(224),
        languages: "English",
        licence: "MIT",
        // scripts/catalogue_bench.py: batch 8, one short query, 3 interleaved rounds.
        images_per_s: Some(0.89),
        torch_images_per_s: Some(0.84),
        text_ms: Some(80.38),
        torch_text_ms: Some(127.22),
    },
    Entry {
        id: "google/siglip2-base-patch16-224",
        family: SIGLIP2,
        role: Role::ImageAndText,
        dim: 768,
        image_size: Some(224),
        languages: "multilingual",
        licence: "Apache-2.0",
        // scripts/catalogue_bench.py: images at batch 8, 3 interleaved rounds; the query, padded to
        // 64 tokens, in a later --text-only run of 3 rounds.
        images_per_s: Some(7.52),
        torch_images_per_s: Some(6.64),
        text_ms: Some(68.95),
        torch_text_ms: Some(75.92),
    },
    Entry {
        id: "google/siglip2-large-patch16-256",
        family: SIGLIP2,
        role: Role::ImageAndText,
        dim: 1024,
        image_size: Some(256),
        languages: "multilingual",
        licence: "Apache-2.0",
        // scripts/catalogue_bench.py: images at batch 8, 3 interleaved rounds; the query, padded to
        // 64 tokens, in a later --text-only run of 5 rounds.
        images_per_s: Some(1.69),
        torch_images_per_s: Some(1.52),
        text_ms: Some(302.75),
        torch_text_ms: Some(359.32),
    },
    Entry {
        id: "google/siglip2-so400m-patch14-384",
        family: SIGLIP2,
        role: Role::ImageAndText,
        dim: 1152,
        image_size: Some(384),
        languages: "multilingual",
        licence: "Apache-2.0",
        // scripts/catalogue_bench.py: images at batch 8, 3 interleaved rounds; the query, padded to
        // 64 tokens, in a later --text-only run of 5 rounds.
        images_per_s: Some(0.38),
        torch_images_per_s: Some(0.31),
        text_ms: Some(414.71),
        torch_text_ms: Some(565.27),
    },
    // SigLIP 1: the same architecture, its tokenizer a SentencePiece
    // unigram model (spiece.model), English.
    Entry {
        id: "google/siglip-base-patch16-224",
        family: SIGLIP,
        role: Role::ImageAndText,
        dim: 768,
        image_size: Some(224),
        languages: "en",
        licence: "Apache-2.0",
        // scripts/catalogue_bench.py: images at batch 8, 3 interleaved rounds; the query, padded to
        // 64 tokens, in a later --text-only run of 3 rounds.
        images_per_s: Some(7.51),
        torch_images_per_s: Some(6.61),
        text_ms: Some(67.47),
        torch_text_ms: Some(79.09),
    },
    Entry {
        id: "google/siglip-so400m-patch14-384",
        family: SIGLIP,
        role: Role::ImageAndText,
        dim: 1152,
        image_size: Some(384),
        languages: "en",
        licence: "Apache-2.0",
        // scripts/catalogue_bench.py: images at batch 8, 3 interleaved rounds; the query, padded to
        // 64 tokens, in a later --text-only run of 5 rounds.
        images_per_s: Some(0.42),
        torch_images_per_s: Some(0.4),
        text_ms: Some(355.05),
        torch_text_ms: Some(463.23),
    },
    Entry {
        id: "sentence-transformers/clip-ViT-B-32-multilingual-v1",
        family: "multilingual DistilBERT",
        role: Role::TextFor(&[
            "openai/clip-vit-base-patch32",
            "sentence-transformers/clip-ViT-B-32",
        ]),
        dim: 512,
        image_size: None,
        languages: "50+ languages",
        licence: "Apache-2.0",
        images_per_s: None,
        torch_images_per_s: None,
        // scripts/parity_full.sh: one query, 2 threads, medians of 30.
        text_ms: Some(15.5),
        torch_text_ms: Some(19.4),
    },
];

/// The repo part of a model id (`org/name@rev` → `org/name`).
pub fn repo_of(id: &str) -> &str {
    id.split('@').next().unwrap_or(id)
}

/// The catalogue's entry for a model id (`org/name` or `org/name@revision`).
pub fn find(id: &str) -> Option<&'static Entry> {
    let repo = repo_of(id);
    CATALOGUE.iter().find(|e| e.id.eq_ignore_ascii_case(repo))
}

/// The image models a catalogued text tower was trained into.
pub fn image_models_of(text_model: &str) -> Option<&'static [&'static str]> {
    match find(text_model)?.role {
        Role::TextFor(images) => Some(images),
        Role::ImageAndText => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_repos_and_text_towers_name_catalogued_image_models() {
        let mut seen = std::collections::HashSet::new();
        for e in CATALOGUE {
            assert!(seen.insert(e.id.to_ascii_lowercase()), "{} twice", e.id);
            assert_eq!(e.id.split('/').count(), 2, "{}", e.id);
            if let Role::TextFor(images) = e.role {
                assert!(e.image_size.is_none());
                // The first image model is catalogued, with the same dimension.
                let img = find(images[0]).expect("catalogued image model");
                assert_eq!(img.dim, e.dim, "{}", e.id);
            } else {
                assert!(e.image_size.is_some());
            }
        }
        assert_eq!(CATALOGUE[0].id, super::super::hub::DEFAULT_MODEL);
        assert!(find("OpenAI/clip-vit-base-patch32@refs/pr/15").is_some());
        assert!(image_models_of("sentence-transformers/clip-ViT-B-32-multilingual-v1").is_some());
    }
}
