//! `--shard K/N`: a stable slice of the cases, so CI can split one suite
//! over N machines and merge the reports afterwards (`picharness report merge`).
//!
//! Cases are sorted by id and dealt round-robin: shard K gets the cases at
//! positions K-1, K-1+N, K-1+2N, ... The N shards are disjoint, together
//! hold every case, and differ in size by at most one.

use std::fmt;
use std::str::FromStr;

use crate::scenario::Case;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

/// Why a `--shard` value is not `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: {problem} (expected K/N with 1 <= K <= N, e.g. 2/4)")]
pub struct ShardError {
    value: String,
    problem: &'static str,
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = |problem| ShardError {
            value: value.to_owned(),
            problem,
        };
        let (k, n) = value.split_once('/').ok_or_else(|| error("no '/'"))?;
        let index: usize = k.trim().parse().map_err(|_| error("K is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| error("N is not a number"))?;
        if count == 0 {
            return Err(error("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(error("K must be between 1 and N"));
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The cases of this shard, in the order given.
    pub fn select(&self, cases: &[Case]) -> Vec<Case> {
        let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        cases
            .iter()
            .filter(|case| {
                ids.binary_search(&case.id.as_str())
                    .is_ok_and(|position| position % self.count == self.index - 1)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_names_bad_values() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for (bad, problem) in [
            ("3", "no '/'"),
            ("x/2", "K is not a number"),
            ("1/y", "N is not a number"),
            ("0/2", "K must be between 1 and N"),
            ("3/2", "K must be between 1 and N"),
            ("1/0", "N must be at least 1"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(
                err.contains(problem) && err.contains("expected K/N"),
                "{bad}: {err}"
            );
        }
    }

    fn case(id: &str) -> Case {
        Case {
            id: id.to_owned(),
            title: String::new(),
            requirements: vec![],
            providers: vec![],
            tags: vec![],
            timeout: std::time::Duration::from_secs(1),
            no_fault_reason: None,
            exclusive: false,
            needs: vec![],
            steps: vec![],
            source: std::path::PathBuf::new(),
        }
    }

    #[test]
    fn shards_are_disjoint_balanced_and_cover_every_case() {
        let cases: Vec<Case> = ["e", "a", "d", "b", "g", "c", "f"].map(case).to_vec();
        let ids = |shard: &str| -> Vec<String> {
            shard
                .parse::<Shard>()
                .unwrap()
                .select(&cases)
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        // Sorted a..g dealt over 3: a d g / b e / c f, each in the given order.
        assert_eq!(ids("1/3"), ["a", "d", "g"]);
        assert_eq!(ids("2/3"), ["e", "b"]);
        assert_eq!(ids("3/3"), ["c", "f"]);
        assert_eq!(ids("1/1").len(), 7);
    }
}
