//! Shares of the work for indexing workers on many machines: `--shard I/N`
//! gives worker I the files whose path hash falls in share I of N. Workers
//! share one library (a Qdrant collection) and nothing else: each is
//! incremental over its own share, and removes only what is gone from its own
//! share, so N workers never step on each other's files. The hash is BLAKE3 of
//! the path's bytes — stable across runs, machines and versions (a change
//! would move files between shares).

use std::path::Path;

/// Worker `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `I/N` (1-based, as people count workers), or `N` alone, the worker then
    /// being `JOB_COMPLETION_INDEX` + 1 (a Kubernetes Indexed Job's pod index),
    /// so one command line serves every pod.
    pub fn parse(s: &str, job_index: Option<&str>) -> Result<Shard, String> {
        let bad = || {
            format!("--shard {s:?}: expected I/N with 1 ≤ I ≤ N (e.g. 2/8), or N in a Kubernetes Indexed Job")
        };
        let (i, n) = match s.split_once('/') {
            Some((i, n)) => (
                i.trim().parse::<u32>().map_err(|_| bad())?,
                n.trim().parse::<u32>().map_err(|_| bad())?,
            ),
            None => {
                let n = s.trim().parse::<u32>().map_err(|_| bad())?;
                let Some(j) = job_index else {
                    return Err(format!(
                        "--shard {n}: which share? Give I/{n}, or run it as a Kubernetes \
                         Indexed Job (JOB_COMPLETION_INDEX is not set)"
                    ));
                };
                let j: u32 = j
                    .trim()
                    .parse()
                    .map_err(|_| format!("JOB_COMPLETION_INDEX={j:?} is not a number"))?;
                (j + 1, n)
            }
        };
        if n == 0 || i == 0 || i > n {
            return Err(bad());
        }
        Ok(Shard {
            index: i - 1,
            count: n,
        })
    }

    /// The share a path falls in.
    pub fn of(path: &Path, count: u32) -> u32 {
        let h = blake3::hash(&scry::store::path_to_bytes(path));
        let x = u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"));
        (x % u64::from(count.max(1))) as u32
    }

    /// Whether this worker indexes `path`.
    pub fn owns(&self, path: &Path) -> bool {
        Shard::of(path, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn paths(n: usize) -> Vec<PathBuf> {
        // Like a real library: years, events, camera names.
        (0..n)
            .map(|i| {
                PathBuf::from(format!(
                    "/photos/{}/{:02}-trip/IMG_{:04}.jpg",
                    2010 + i % 13,
                    i % 12 + 1,
                    i
                ))
            })
            .collect()
    }

    #[test]
    fn shares_are_even_on_ten_thousand_paths() {
        let ps = paths(10_000);
        // Within 5 % for the few workers people run; a hash's binomial spread
        // makes many small shares of 10,000 paths vary more (10 % at 16).
        for (n, bound) in [(2u32, 0.05), (3, 0.05), (4, 0.05), (16, 0.10)] {
            let mut sizes = vec![0usize; n as usize];
            for p in &ps {
                sizes[Shard::of(p, n) as usize] += 1;
            }
            let mean = ps.len() as f64 / n as f64;
            for (i, s) in sizes.iter().enumerate() {
                let off = (*s as f64 - mean).abs() / mean;
                assert!(
                    off <= bound,
                    "{n} shares: share {i} has {s} ({:.1} % off)",
                    off * 100.0
                );
            }
            // Every path in exactly one share.
            assert_eq!(sizes.iter().sum::<usize>(), ps.len());
        }
    }

    #[test]
    fn a_path_always_lands_in_the_same_share() {
        for p in paths(1000) {
            assert_eq!(Shard::of(&p, 5), Shard::of(&p.clone(), 5));
        }
        // Pinned: a different hash would move files between workers' shares.
        let pinned: Vec<u32> = [
            "/photos/a.jpg",
            "/photos/b.jpg",
            "/srv/x/IMG_0001.HEIC",
            "/p/ü.png",
        ]
        .iter()
        .map(|p| Shard::of(Path::new(p), 1000))
        .collect();
        let again: Vec<u32> = pinned.clone();
        assert_eq!(pinned, again);
        assert_eq!(pinned, PINNED.to_vec(), "the share function changed");
    }

    const PINNED: [u32; 4] = [5, 236, 314, 949];

    #[test]
    fn shard_arguments() {
        assert_eq!(Shard::parse("2/8", None), Ok(Shard { index: 1, count: 8 }));
        assert_eq!(
            Shard::parse("8", Some("7")),
            Ok(Shard { index: 7, count: 8 })
        );
        assert!(Shard::parse("8", None)
            .unwrap_err()
            .contains("JOB_COMPLETION_INDEX"));
        assert!(Shard::parse("8", Some("8")).is_err());
        for bad in ["0/2", "3/2", "1/0", "a/b", "", "1/2/3"] {
            assert!(Shard::parse(bad, None).is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 1, count: 8 }.to_string(), "2/8");
    }
}
