//! `--mix`: which scenarios run and in what proportion
//! (`message-in=3,message-out=1`), and the names the engine knows.

use std::sync::Arc;

use super::message::{MessageInbound, MessageOutbound};
use super::scenario::Scenario;

/// Every scenario `--mix` can name.
pub fn known_scenarios() -> Vec<Arc<dyn Scenario>> {
    vec![
        Arc::new(MessageInbound),
        Arc::new(MessageOutbound),
        Arc::new(super::presence::PresenceMix),
    ]
}

/// One scenario of the mix with its weight.
#[derive(Clone)]
pub struct MixEntry {
    pub scenario: Arc<dyn Scenario>,
    pub weight: u32,
}

impl std::fmt::Debug for MixEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.scenario.name(), self.weight)
    }
}

/// Parses `name=weight,name=weight` (a bare `name` weighs 1). Names must
/// be known and appear once; weights are 1 to 1000.
pub fn parse_mix(text: &str) -> Result<Vec<MixEntry>, String> {
    let known = known_scenarios();
    let names = || {
        known
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut mix: Vec<MixEntry> = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("--mix {text:?} has an empty entry"));
        }
        let (name, weight) = match part.split_once('=') {
            Some((name, weight)) => {
                let weight: u32 = weight.trim().parse().map_err(|_| {
                    format!("--mix: the weight of {name} ({weight:?}) is not a whole number")
                })?;
                (name.trim(), weight)
            }
            None => (part, 1),
        };
        if !(1..=1000).contains(&weight) {
            return Err(format!(
                "--mix: the weight of {name} is {weight}; weights are 1 to 1000"
            ));
        }
        let Some(scenario) = known.iter().find(|s| s.name() == name) else {
            return Err(format!(
                "--mix: unknown scenario {name:?}; known: {}",
                names()
            ));
        };
        if mix.iter().any(|m| m.scenario.name() == name) {
            return Err(format!("--mix names {name} twice"));
        }
        mix.push(MixEntry {
            scenario: scenario.clone(),
            weight,
        });
    }
    Ok(mix)
}

/// Picks scenarios in proportion to their weights, spread evenly (smooth
/// weighted round-robin, as nginx balances upstreams): with weights 3 and
/// 1 the order is a a b a, a a b a, ...
#[derive(Debug)]
pub struct WeightedTurns {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl WeightedTurns {
    pub fn new(weights: &[u32]) -> Self {
        let weights: Vec<i64> = weights.iter().map(|w| i64::from(*w)).collect();
        Self {
            current: vec![0; weights.len()],
            total: weights.iter().sum(),
            weights,
        }
    }

    /// The index of the next pick (0 when there is nothing to pick from).
    pub fn next_index(&mut self) -> usize {
        let mut best = 0;
        for i in 0..self.weights.len() {
            self.current[i] += self.weights[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        if let Some(c) = self.current.get_mut(best) {
            *c -= self.total;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weights_and_bare_names() {
        let mix = parse_mix("message-in=3, message-out").expect("valid");
        assert_eq!(format!("{mix:?}"), "[message-in=3, message-out=1]");
    }

    #[test]
    fn refuses_unknown_duplicate_and_bad_weights() {
        for (text, phrase) in [
            ("message-sideways=1", "unknown scenario"),
            ("message-in,message-in", "twice"),
            ("message-in=0", "weights are 1 to 1000"),
            ("message-in=x", "not a whole number"),
            ("message-in,", "empty entry"),
        ] {
            let err = parse_mix(text).expect_err(text);
            assert!(err.contains(phrase), "{text}: {err}");
        }
    }

    #[test]
    fn turns_follow_the_weights() {
        let mut turns = WeightedTurns::new(&[3, 1]);
        let picks: Vec<usize> = (0..8).map(|_| turns.next_index()).collect();
        assert_eq!(picks.iter().filter(|&&i| i == 1).count(), 2);
        assert_eq!(picks.iter().filter(|&&i| i == 0).count(), 6);
    }
}
