//! RFC 2782 target selection: the order in which a client tries the SRV
//! records of one name. Lower priority first; within one priority, a
//! weighted random draw (records of weight 0 first in the running sum, so
//! they are chosen rarely), repeated until every record is placed. The
//! random numbers come from the caller, so the order is a pure function of
//! its inputs and tests can pin it.

/// One SRV record, as selection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvCandidate {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Without the trailing dot.
    pub target: String,
}

impl SrvCandidate {
    /// RFC 2782: a lone record whose target is "." says the service is
    /// decidedly not available at this domain.
    pub fn says_unavailable(records: &[Self]) -> bool {
        matches!(records, [only] if only.target.is_empty() || only.target == ".")
    }
}

/// Orders `records` for trying, per RFC 2782 "Usage rules". `draw(total)`
/// must return a number in `0..=total`.
pub fn order_srv(records: &[SrvCandidate], mut draw: impl FnMut(u32) -> u32) -> Vec<SrvCandidate> {
    let mut priorities: Vec<u16> = records.iter().map(|r| r.priority).collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut ordered = Vec::with_capacity(records.len());
    for priority in priorities {
        // Weight-0 records first, the others in their given order.
        let mut group: Vec<&SrvCandidate> = records
            .iter()
            .filter(|r| r.priority == priority && r.weight == 0)
            .chain(
                records
                    .iter()
                    .filter(|r| r.priority == priority && r.weight != 0),
            )
            .collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = draw(total).min(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            ordered.push(group.remove(index).clone());
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> SrvCandidate {
        SrvCandidate {
            priority,
            weight,
            port: 5061,
            target: target.to_owned(),
        }
    }

    fn targets(records: &[SrvCandidate]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn lower_priority_values_come_first_whatever_the_weights() {
        let records = [srv(20, 100, "c"), srv(10, 0, "a"), srv(15, 5, "b")];
        assert_eq!(targets(&order_srv(&records, |_| 0)), ["a", "b", "c"]);
        assert_eq!(targets(&order_srv(&records, |t| t)), ["a", "b", "c"]);
    }

    #[test]
    fn a_draw_selects_the_first_record_whose_running_sum_reaches_it() {
        // Running sums in RFC order: z(0)=0, x(10)=10, y(90)=100.
        let records = [srv(0, 10, "x"), srv(0, 90, "y"), srv(0, 0, "z")];
        // Draw 0 picks the weight-0 record; then sums x=10, y=100.
        let mut draws = [0, 50, 0].into_iter();
        assert_eq!(
            targets(&order_srv(&records, |_| draws.next().unwrap_or(0))),
            ["z", "y", "x"]
        );
        // Draw 10 picks x; then z=0, y=90: draw 1 picks y; z last.
        let mut draws = [10, 1, 0].into_iter();
        assert_eq!(
            targets(&order_srv(&records, |_| draws.next().unwrap_or(0))),
            ["x", "y", "z"]
        );
    }

    #[test]
    fn the_draw_is_asked_for_the_sum_of_the_remaining_weights() {
        let records = [srv(0, 10, "x"), srv(0, 90, "y"), srv(1, 7, "w")];
        let mut asked = Vec::new();
        let _ = order_srv(&records, |total| {
            asked.push(total);
            total
        });
        assert_eq!(asked, [100, 10, 7]);
    }

    #[test]
    fn heavier_records_are_chosen_first_more_often() {
        // A fixed, evenly spread sequence of draws stands in for randomness.
        let records = [srv(0, 1, "light"), srv(0, 3, "heavy")];
        let mut first_heavy = 0;
        for n in 0..=400u32 {
            let order = order_srv(&records, |total| n * total / 400);
            if order[0].target == "heavy" {
                first_heavy += 1;
            }
        }
        // RFC 2782 draws from 0..=4 inclusive and 0 and 1 both reach
        // light's running sum 1 first; 2..=4 pick heavy (n = 200..=400).
        assert_eq!(first_heavy, 201);
    }

    #[test]
    fn an_out_of_range_draw_is_clamped() {
        let records = [srv(0, 1, "a"), srv(0, 1, "b")];
        assert_eq!(targets(&order_srv(&records, |_| u32::MAX)), ["b", "a"]);
    }

    #[test]
    fn a_lone_dot_target_means_unavailable() {
        assert!(SrvCandidate::says_unavailable(&[srv(0, 0, ".")]));
        assert!(SrvCandidate::says_unavailable(&[srv(0, 0, "")]));
        assert!(!SrvCandidate::says_unavailable(&[srv(
            0,
            0,
            "sip.contoso.test"
        )]));
        assert!(!SrvCandidate::says_unavailable(&[
            srv(0, 0, "."),
            srv(0, 0, "b")
        ]));
    }
}
