//! The embedded reference Edge: a compact, conformant Access Edge used as
//! the SUT when no configuration is given, with fault switches that make it
//! misbehave in exactly one named way each.

mod chaos;
mod dialog_fault;
mod fault;
mod malformed;
mod pidf_fault;
mod proxy;
mod refusal;
mod revocation;
mod routing;
mod sdp_fault;
mod server;
mod slow_faults;
mod tls_faults;
mod variant;

pub use chaos::{ChaosEdge, ChaosMode, OVERSIZE_BYTES, UnknownChaosMode};
pub use fault::{Fault, FaultSet, UnknownFault};
pub use proxy::{DEFAULT_TIMER_C, EdgeTimers};
pub use routing::{Decision, OptionsSeen, ProviderRoute, RoutingPolicy, Side, Target};
pub use server::{EdgeConfig, EdgeError, PoolMember, ReferenceEdge};
pub use variant::{UnknownVariant, Variant, VariantSet};
